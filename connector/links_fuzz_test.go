package connector

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckLink: a link checkLink accepts is one Go's client sends to the configured Graph
// host (port included) over https, never anywhere else.
func FuzzCheckLink(f *testing.F) {
	for _, s := range []string{
		"https://graph.microsoft.com/v1.0/drives/x/root/delta?token=1",
		"http://graph.microsoft.com/v1.0/x", "https://graph.microsoft.com.evil/x", "https://graph.microsoft.com@evil/x",
		"https://evil\\@graph.microsoft.com/x", "//graph.microsoft.com/x", "https://GRAPH.microsoft.com:443/x",
		"https://graph.microsoft.com%2eevil/x", "https://[::1]/x", "https://graph.microsoft.com\x00.evil/",
	} {
		f.Add(s)
	}
	c := &Client{graphScheme: "https", graphHost: "graph.microsoft.com"}
	f.Fuzz(func(t *testing.T, link string) {
		if c.checkLink(link) != nil {
			return
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse", link)
		}
		if u.Scheme != "https" || u.User != nil || !strings.EqualFold(u.Host, "graph.microsoft.com") {
			t.Fatalf("accepted %q: scheme %q, user %v, host %q", link, u.Scheme, u.User, u.Host)
		}
	})
}

// FuzzParseSiteSpec: whatever a drive spec holds, a URL form accepted has a host and plain
// path segments, never "." or "..", so the Graph request built from it stays on /sites/.
func FuzzParseSiteSpec(f *testing.F) {
	for _, s := range []string{
		"https://contoso.sharepoint.com/sites/X/Shared%20Documents", "site:host:/sites/X", "site:host,a,b",
		"https://h/sites/%2e%2e/x", "site:h:/sites/X:", "https://h/a/../b", "site:h:/%2F",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ref, ok, err := parseSiteSpec(spec)
		if !ok || err != nil || ref.id != "" {
			return
		}
		if ref.host == "" || strings.ContainsAny(ref.host, "/?#") {
			t.Fatalf("%q: host %q", spec, ref.host)
		}
		for _, seg := range ref.segs {
			if seg == "" || seg == "." || seg == ".." || strings.Contains(seg, "/") {
				t.Fatalf("%q: segment %q", spec, seg)
			}
			if e := escapeSegment(seg); strings.Contains(e, "/") || e == "." || e == ".." {
				t.Fatalf("%q: escaped segment %q", spec, e)
			}
		}
	})
}
