package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector"
)

// cmdDrives lists the drives (document libraries) of a SharePoint site with their ids,
// names and addresses: the site of an instance's drive, or a site given by URL
// (https://contoso.sharepoint.com/sites/X, or any of its libraries' addresses) or as
// site:<host>:/sites/X or site:<site id>. It signs in app-only with the instance's
// credentials (for a URL: --instance, else the first client_credentials instance), so it
// never touches a delegated sign-in's rotating refresh token.
func cmdDrives(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("drives", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	instName := fs.String("instance", "", "the client_credentials instance whose sign-in reads a SITE-URL (default: the first one)")
	asJSON := fs.Bool("json", false, "print the site and its drives as JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("drives: give one INSTANCE or SITE-URL (usage: onedrive-agent drives [-c FILE] INSTANCE|SITE-URL)")
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	ic, site, err := drivesTarget(cfg, pos[0], *instName)
	if err != nil {
		return err
	}
	if err := needSecrets(ic, "auth"); err != nil {
		return err
	}
	hc, err := connector.NewHTTPClient(connector.HTTPOptions{Proxy: proxyOf(cfg), CAFile: cfg.Network.CAFile, Timeout: 30 * time.Second})
	if err != nil {
		return usageError{err}
	}
	client, err := connector.NewClient(connector.ClientOptions{Auth: authConfigOf(ic.Auth), HTTPClient: hc, Version: agentVersion(),
		RetryMaxElapsed: 20 * time.Second, ThrottleMaxWait: time.Minute})
	if err != nil {
		return usageError{err}
	}
	web, drives, err := client.SiteDrives(env.ctx, site)
	if err != nil {
		if errors.Is(err, connector.ErrBadConfig) {
			return usageError{err}
		}
		return fmt.Errorf("drives: %w", err)
	}
	if *asJSON {
		out := struct {
			Site   string                `json:"site"`
			Drives []connector.DriveInfo `json:"drives"`
		}{web, drives}
		if out.Drives == nil {
			out.Drives = []connector.DriveInfo{}
		}
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(env.stdout, "site %s: %d drive(s)\n", connector.TerminalText(web, 300), len(drives))
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tWEBURL")
	for _, d := range drives {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", connector.TerminalText(d.ID, 200), connector.TerminalText(d.Name, 100), connector.TerminalText(d.WebURL, 300))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(drives) > 0 {
		fmt.Fprintf(env.stdout, "use one as [instance.drive] drive = %q (its WEBURL) or drive = \"<ID>\"\n", connector.TerminalText(drives[0].WebURL, 300))
	}
	return nil
}

// namesSite reports whether a drive spec or argument names a SharePoint site: site:… or a URL.
func namesSite(s string) bool {
	lower := strings.ToLower(s)
	return strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") || strings.HasPrefix(s, "site:")
}

// drivesTarget picks the instance whose sign-in is used and the site to list.
func drivesTarget(cfg *config.Config, arg, instName string) (config.Instance, string, error) {
	var (
		ic   config.Instance
		site = arg
	)
	switch {
	case !namesSite(arg):
		var ok bool
		if ic, ok = cfg.Instance(arg); !ok {
			return ic, "", usagef("drives: %s has no instance %q (give an instance name or a SharePoint site URL)", cfg.File, arg)
		}
		site = ic.Drive.Spec
		if !namesSite(site) {
			return ic, "", usagef("drives: instance %q: drive = %q names no SharePoint site; give the site's URL instead", ic.Name, site)
		}
	case instName != "":
		var ok bool
		if ic, ok = cfg.Instance(instName); !ok {
			return ic, "", usagef("drives: %s has no instance %q", cfg.File, instName)
		}
	default:
		for _, c := range cfg.Instances {
			if c.Auth.Flow == config.FlowClientCredentials {
				ic = c
				break
			}
		}
		if ic.Name == "" {
			return ic, "", usagef("drives: %s has no instance with flow = \"client_credentials\" to sign in with", cfg.File)
		}
	}
	if ic.Auth.Flow != config.FlowClientCredentials {
		return ic, "", usagef("drives: instance %q signs in as a user (flow = %q); drives signs in app-only: use a client_credentials instance (--instance NAME)", ic.Name, ic.Auth.Flow)
	}
	return ic, site, nil
}
