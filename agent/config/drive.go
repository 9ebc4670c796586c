package config

import (
	"fmt"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/connector"
)

// drive reads [instance.drive]; flow decides whether "me" can work.
func (b *builder) drive(v values, flow string) Drive {
	p := b.p
	d := Drive{Spec: DefaultDrive, Scope: Scope{Folder: DefaultFolder}}
	if f, ok := v.get("drive"); ok {
		if s, ok := p.str(f); ok {
			if err := checkDriveSpec(s); err != "" {
				p.errf(f.line, f.key, "%q %s", s, err)
			} else {
				d.Spec = s
			}
		}
	}
	if flow == FlowClientCredentials && d.Spec == "me" {
		line, key := b.at(v, "drive", "drive")
		p.errf(line, key, "\"me\" needs a signed-in user, which flow = \"client_credentials\" has not: use \"user:<upn>\" or a drive id")
	}
	if f, ok := v.get("folder"); ok {
		if s, ok := p.str(f); ok {
			if msg := checkFolder(s); msg != "" {
				p.errf(f.line, f.key, "%q %s", s, msg)
			} else {
				d.Scope.Folder = cleanPath(s)
			}
		}
	}
	for _, k := range []string{"include", "exclude"} {
		f, ok := v.get(k)
		if !ok {
			continue
		}
		list, ok := p.strs(f)
		if !ok {
			continue
		}
		for i, pat := range list {
			if err := ValidPattern(pat); err != nil {
				e := p.elem(f, i)
				p.errf(e.line, e.key, "%q: %v", pat, err)
			}
		}
		if k == "include" {
			d.Scope.Include = list
		} else {
			d.Scope.Exclude = list
		}
	}
	return d
}

// checkDriveSpec returns what is wrong with a drive spec, or "".
func checkDriveSpec(s string) string {
	const forms = "is not a drive: use me, user:<upn or id>, site:<site id>, site:<host>:/sites/NAME, a SharePoint library URL or a drive id"
	if s == "me" {
		return ""
	}
	lower := strings.ToLower(s)
	if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") ||
		(strings.HasPrefix(s, "site:") && strings.Contains(s, ":/")) {
		// A SharePoint site or library, by URL or by host and path.
		if err := connector.CheckDriveSpec(s, FlowClientCredentials); err != nil {
			_, msg, _ := strings.Cut(err.Error(), fmt.Sprintf("drive = %q", s))
			if msg = strings.TrimLeft(msg, " :"); msg == "" {
				msg = forms
			}
			return msg
		}
		return ""
	}
	kind, rest, hasColon := strings.Cut(s, ":")
	if hasColon && (kind == "user" || kind == "site") {
		if strings.TrimSpace(rest) == "" || strings.ContainsAny(rest, " \t\r\n/") {
			return forms
		}
		return ""
	}
	if s == "" || hasColon || strings.ContainsAny(s, " \t\r\n/\\?#") {
		return forms
	}
	return ""
}

// checkFolder returns what is wrong with a folder path, or "".
func checkFolder(s string) string {
	if !strings.HasPrefix(s, "/") {
		return "must start with \"/\" (a path from the drive root, e.g. \"/Finance\")"
	}
	for _, seg := range strings.Split(strings.Trim(s, "/"), "/") {
		if (seg == "" && strings.Trim(s, "/") != "") || seg == "." || seg == ".." {
			return "must be a plain path without \"//\", \".\" or \"..\""
		}
	}
	return ""
}
