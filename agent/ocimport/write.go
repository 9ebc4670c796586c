package ocimport

import (
	"bytes"
	"fmt"
	"strings"
)

// write emits the [[instance]] table.
func (im *importer) write(b *bytes.Buffer) {
	fmt.Fprintf(b, "# Imported from an Open Connectors %s instance", ElementKey)
	if im.origName != "" {
		fmt.Fprintf(b, " (%s)", comment(im.origName))
	}
	b.WriteString(".\n")
	if im.ocID != "" {
		fmt.Fprintf(b, "# Open Connectors instance id: %s (for reference: the agent numbers its instances itself,\n", comment(im.ocID))
		b.WriteString("# and that number is the instanceId of the callbacks).\n")
	}
	for _, n := range im.notes {
		fmt.Fprintf(b, "# %s\n", comment(n))
	}
	b.WriteString("[[instance]]\n")
	fmt.Fprintf(b, "name    = %s\n", quote(im.name))
	fmt.Fprintf(b, "tags    = %s\n", quoteList(im.tags))
	if im.enabled != nil {
		fmt.Fprintf(b, "enabled = %t   # event.notification.enabled\n", *im.enabled)
	}

	b.WriteString("\n[instance.auth]\n")
	if im.code != "" {
		b.WriteString("# Open Connectors gave an authorization code (providerData.code). Sign in once with\n")
		fmt.Fprintf(b, "#   onedrive-agent login --code CODE %s\n", im.name)
		b.WriteString("# (the command with the code is printed on stderr); the code must have been issued for\n")
		fmt.Fprintf(b, "# redirect_url below. Without a code (or once it has expired), `onedrive-agent login %s`\n", im.name)
		b.WriteString("# prints the sign-in address that gives a new one, and the command to run with it.\n")
		b.WriteString("flow          = \"code\"\n")
	}
	im.required(b, "client_id    ", im.clientID, "oauth.api.key", "the application (client) id of your app registration")
	if im.clientSecret != nil && *im.clientSecret != "" {
		b.WriteString("# Written as imported. Better keep it out of this file: client_secret_file = \"/path\"\n")
		b.WriteString("# (the file's content) or client_secret = \"${ENV_VAR}\".\n")
		fmt.Fprintf(b, "client_secret = %s\n", quote(*im.clientSecret))
	}
	if im.redirectURL != nil && *im.redirectURL != "" {
		fmt.Fprintf(b, "redirect_url  = %s\n", quote(*im.redirectURL))
	}

	if im.folder != "" {
		b.WriteString("\n[instance.drive]\n")
		fmt.Fprintf(b, "folder = %s   # %s\n", quote(im.folder), comment(im.folderNote))
	}

	if im.interval != "" {
		b.WriteString("\n[instance.poll]\n")
		fmt.Fprintf(b, "interval = %s   # %s\n", quote(im.interval), comment(im.intervalNote))
	}

	b.WriteString("\n[instance.callback]\n")
	im.required(b, "url          ", im.callbackURL, "event.notification.callback.url", "where the agent POSTs the events")
	if im.signatureKey != nil && *im.signatureKey != "" {
		b.WriteString("# Written as imported; signature_key_file = \"/path\" or \"${ENV_VAR}\" keeps it out of this file.\n")
		fmt.Fprintf(b, "signature_key = %s\n", quote(*im.signatureKey))
	}
}

// required writes key = value, or a commented placeholder and a warning when the value is
// missing or empty (agent.toml then reports the key as required).
func (im *importer) required(b *bytes.Buffer, key string, v *string, from, what string) {
	if v != nil && strings.TrimSpace(*v) != "" {
		fmt.Fprintf(b, "%s = %s\n", key, quote(*v))
		return
	}
	k := strings.TrimSpace(key)
	fmt.Fprintf(b, "# %s = \"...\"   # required: %s (%s was empty)\n", k, what, from)
	im.warnf("configuration.%q: empty; set %s in the table (%s)", from, k, what)
}

// quote writes s as a TOML basic string that agent.toml reads back as s: "${" is written as
// "$${" so that it is not taken for an environment variable.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		case r == 0xFFFD && !strings.HasPrefix(s[i:], "\uFFFD"):
			b.WriteString(`\uFFFD`) // invalid UTF-8
		case r == '$' && strings.HasPrefix(s[i:], "${"):
			b.WriteString("$$")
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// comment makes s safe inside a TOML comment (one line, no control characters).
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xFFFD {
			return ' '
		}
		return r
	}, s)
}
