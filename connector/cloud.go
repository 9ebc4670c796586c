package connector

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Cloud is one Microsoft cloud: where users sign in and where Graph answers.
type Cloud struct {
	// Name is the configuration name: "global", "usgov", "usgov-dod" or "china".
	Name string
	// LoginURL is the identity platform root without a trailing slash, e.g.
	// "https://login.microsoftonline.com".
	LoginURL string
	// GraphURL is the Graph root with the API version, e.g. "https://graph.microsoft.com/v1.0".
	GraphURL string
}

// clouds lists the supported clouds by configuration name.
var clouds = map[string]Cloud{
	"global":    {Name: "global", LoginURL: "https://login.microsoftonline.com", GraphURL: "https://graph.microsoft.com/v1.0"},
	"usgov":     {Name: "usgov", LoginURL: "https://login.microsoftonline.us", GraphURL: "https://graph.microsoft.us/v1.0"},
	"usgov-dod": {Name: "usgov-dod", LoginURL: "https://login.microsoftonline.us", GraphURL: "https://dod-graph.microsoft.us/v1.0"},
	"china":     {Name: "china", LoginURL: "https://login.chinacloudapi.cn", GraphURL: "https://microsoftgraph.chinacloudapi.cn/v1.0"},
}

// CloudNames returns the configuration names of the supported clouds, sorted.
func CloudNames() []string {
	names := make([]string, 0, len(clouds))
	for n := range clouds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LookupCloud returns the cloud with the given configuration name; "" means "global".
// Names are matched case-insensitively.
func LookupCloud(name string) (Cloud, error) {
	if name == "" {
		name = "global"
	}
	c, ok := clouds[strings.ToLower(name)]
	if !ok {
		return Cloud{}, fmt.Errorf("unknown cloud %q (one of %s)", name, strings.Join(CloudNames(), ", "))
	}
	return c, nil
}

// resourceRoot returns the scheme and host of the cloud's Graph URL, the prefix of
// fully qualified scopes ("https://graph.microsoft.us").
func (c Cloud) resourceRoot() string {
	u, err := url.Parse(c.GraphURL)
	if err != nil || u.Host == "" {
		return c.GraphURL
	}
	return u.Scheme + "://" + u.Host
}

// checkRootURL validates a login or Graph root given in the configuration: an absolute
// https URL without query or fragment; http only on a loopback host (a local test server).
func checkRootURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("must start with https:// (got %q)", s)
	}
	if u.Host == "" {
		return fmt.Errorf("has no host (got %q)", s)
	}
	if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		return fmt.Errorf("must start with https:// (got %q): tokens and drive data would cross the network in clear text; http:// is accepted only for localhost, 127.0.0.1 or [::1]", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must not have a query or fragment (got %q)", s)
	}
	return nil
}
