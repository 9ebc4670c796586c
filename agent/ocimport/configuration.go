package ocimport

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// readConfiguration maps the instance's configuration keys.
func (im *importer) readConfiguration(cfg map[string]any) {
	for _, k := range sortedKeys(cfg) {
		v := cfg[k]
		if k == "event.poller.configuration" {
			im.readPoller(v)
			continue
		}
		s, ok := text(v)
		if !ok {
			im.warnf("configuration.%q: not a string; not used", k)
			continue
		}
		switch k {
		case "oauth.api.key":
			im.clientID = &s
		case "oauth.api.secret":
			im.clientSecret = &s
		case "oauth.callback.url":
			im.redirectURL = &s
		case "event.notification.callback.url":
			im.callbackURL = &s
		case "event.notification.signature.key":
			im.signatureKey = &s
		case "event.notification.enabled":
			switch strings.ToLower(strings.TrimSpace(s)) {
			case "true":
				b := true
				im.enabled = &b
			case "false", "":
				b := false
				im.enabled = &b
			default:
				im.warnf("configuration.%q: %q is not true or false; not used", k, s)
			}
		case "event.poller.refresh_interval":
			im.readInterval(k, s)
		case "event.vendor.type":
			if strings.EqualFold(s, "polling") || s == "" {
				im.notes = append(im.notes, "event.vendor.type = \"polling\": the agent polls the drive's delta feed")
			} else {
				im.warnf("configuration.%q: %q is not what the agent does (it polls the drive's delta feed); not used", k, s)
			}
		default:
			im.warnf("configuration.%q: not mapped; not used", k)
		}
	}
}

func (im *importer) readInterval(k, s string) {
	minutes, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(minutes) || math.IsInf(minutes, 0) {
		im.warnf("configuration.%q: %q is not a number of minutes; the default interval (5m) applies", k, s)
		return
	}
	d := time.Duration(minutes * float64(time.Minute)).Round(time.Second)
	switch {
	case d < 10*time.Second:
		im.warnf("configuration.%q: %s minutes is below the agent's minimum of 10s; the default interval (5m) applies", k, s)
	case d > 24*time.Hour:
		im.warnf("configuration.%q: %s minutes is longer than the agent's longest interval (24h); write a cron schedule instead; the default interval (5m) applies", k, s)
	default:
		im.interval = shortDuration(d)
		im.intervalNote = fmt.Sprintf("event.poller.refresh_interval = %s (minutes)", s)
	}
}

// shortDuration formats d without zero units: 15m, 1h30m, 90s → 1m30s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

var wherePath = regexp.MustCompile(`(?i)\bpath\s*=\s*'([^']*)'`)

// readPoller reads event.poller.configuration: resource name → {url, idField, ...}.
func (im *importer) readPoller(v any) {
	const key = `configuration."event.poller.configuration"`
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return
		}
		var parsed any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&parsed); err != nil {
			im.warnf("%s: not JSON; not used", key)
			return
		}
		v = parsed
	}
	res, ok := v.(map[string]any)
	if !ok {
		if v != nil {
			im.warnf("%s: not an object; not used", key)
		}
		return
	}
	for _, name := range sortedKeys(res) {
		r, ok := res[name].(map[string]any)
		if !ok {
			im.warnf("%s.%s: not an object; not used", key, name)
			continue
		}
		var unused []string
		for _, f := range sortedKeys(r) {
			if f == "url" {
				if s, ok := r[f].(string); ok && im.pollerFolder(name, s) {
					continue
				}
			}
			unused = append(unused, f)
		}
		if len(unused) > 0 {
			im.warnf("%s.%s: %s not used: the agent reads the drive's delta feed itself; narrow what it reports with [instance.drive] folder, include and exclude",
				key, name, strings.Join(unused, ", "))
		}
	}
}

// pollerFolder takes a folder from a poller resource URL ("...?path=/Invoices" or a where
// clause "path='/Invoices'") and reports whether it did.
func (im *importer) pollerFolder(resource, raw string) bool {
	folder := ""
	if u, err := url.Parse(raw); err == nil {
		q := u.Query()
		folder = q.Get("path")
		if m := wherePath.FindStringSubmatch(q.Get("where")); folder == "" && m != nil {
			folder = m[1]
		}
	}
	if folder == "" || !strings.HasPrefix(folder, "/") || strings.ContainsAny(folder, "\r\n") {
		return false
	}
	folder = strings.TrimRight(folder, "/")
	if folder == "" {
		folder = "/"
	}
	if im.folder != "" && !strings.EqualFold(im.folder, folder) {
		im.warnf(`configuration."event.poller.configuration".%s: folder %q not used: the instance already watches %q (one folder per instance; import again for another)`, resource, folder, im.folder)
		return true
	}
	im.folder = folder
	im.folderNote = fmt.Sprintf("from the url of event.poller.configuration.%s", resource)
	return true
}
