// Package ocimport turns an SAP Open Connectors instance JSON (the body of POST /instances
// for the onedrivev2 element, docs/operations.md, "Importing from Open Connectors") into an [[instance]] table of agent.toml.
//
// Mapping: name (lower-cased and reduced to [a-z0-9_-]), tags, and from configuration:
// oauth.api.key → auth.client_id, oauth.api.secret → auth.client_secret,
// oauth.callback.url → auth.redirect_url, event.notification.enabled → enabled,
// event.notification.callback.url → callback.url, event.notification.signature.key →
// callback.signature_key, event.poller.refresh_interval (minutes) → poll.interval. From
// event.poller.configuration (a JSON object or a string holding one) only a folder given as
// a "path" query parameter or where clause of a resource URL maps (→ drive.folder); the
// rest describes Open Connectors' own poller and is named as not used. The instance's id is
// kept in a comment (the agent assigns its own instanceId). providerData.code
// sets flow = "code" and becomes a hint to run `onedrive-agent login --code CODE NAME`: the
// code is printed on the warning stream only, never into the table.
//
// Secrets are written as given, because converting is what was asked for; a comment next to
// them recommends client_secret_file / signature_key_file or ${VAR} instead. Every key that
// does not map is named on the warning stream (never its value). Values are written so that
// agent.toml reads them back unchanged (a "${" in a value is written as "$${").
package ocimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// ElementKey is the only Open Connectors element Import accepts.
const ElementKey = "onedrivev2"

// Import reads an Open Connectors instance JSON from r and writes an [[instance]] table on w.
// Warnings (keys not mapped, names changed, the login hint) go to warn, one per line. Nothing
// is written on w when an error is returned.
func Import(r io.Reader, w io.Writer, warn io.Writer) error {
	data, err := io.ReadAll(io.LimitReader(r, 8<<20))
	if err != nil {
		return fmt.Errorf("read instance JSON: %w", err)
	}
	if warn == nil {
		warn = io.Discard
	}
	im := &importer{warn: warn}
	obj, err := im.decode(data)
	if err != nil {
		return err
	}
	if err := im.read(obj); err != nil {
		return err
	}
	var out bytes.Buffer
	im.write(&out)
	for _, line := range im.warnings {
		fmt.Fprintln(warn, line)
	}
	_, err = w.Write(out.Bytes())
	return err
}

// decode parses the JSON object; the documentation's sample lacks the opening "{", so such
// input is read with it added.
func (im *importer) decode(data []byte) (map[string]any, error) {
	obj, err := decodeObject(data)
	if err == nil {
		return obj, nil
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '"' && trimmed[len(trimmed)-1] == '}' {
		if o, err2 := decodeObject(append([]byte("{"), trimmed...)); err2 == nil {
			im.warnf("input: the opening \"{\" is missing; read it as one JSON object")
			return o, nil
		}
	}
	return nil, err
}

func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, se.Offset)
			return nil, fmt.Errorf("read instance JSON: line %d, column %d: %v", line, col, err)
		}
		return nil, fmt.Errorf("read instance JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("read instance JSON: more than one JSON value; give one instance")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("read instance JSON: want an object like {\"element\": {\"key\": \"onedrivev2\"}, \"configuration\": {...}, ...}")
	}
	return obj, nil
}

// position returns the line and column of the byte the decoder stopped at (Offset counts
// the bytes read, the offending one included).
func position(data []byte, off int64) (line, col int) {
	if off > 0 {
		off--
	}
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	line, col = 1, 1
	for _, b := range data[:off] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// importer collects what maps while reading.
type importer struct {
	warn     io.Writer
	warnings []string

	name, origName string
	tags           []string
	enabled        *bool
	clientID       *string
	clientSecret   *string
	redirectURL    *string
	callbackURL    *string
	signatureKey   *string
	interval       string
	intervalNote   string
	folder         string
	folderNote     string
	code           string
	ocID           string   // the instance's id in Open Connectors
	notes          []string // comments written at the top of the table
}

func (im *importer) warnf(format string, args ...any) {
	im.warnings = append(im.warnings, "warning: "+fmt.Sprintf(format, args...))
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// text returns a JSON scalar as a string.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	case nil:
		return "", true
	}
	return "", false
}

func (im *importer) read(obj map[string]any) error {
	el, ok := obj["element"].(map[string]any)
	if !ok {
		return fmt.Errorf("element.key is missing: onedrive-agent imports Open Connectors instances of the %s element ({\"element\": {\"key\": %q}, ...})", ElementKey, ElementKey)
	}
	key, _ := text(el["key"])
	if key != ElementKey {
		return fmt.Errorf("element.key is %q: onedrive-agent imports instances of the %s element (Microsoft OneDrive) only", key, ElementKey)
	}
	for _, k := range sortedKeys(el) {
		if k != "key" {
			im.warnf("element.%s: not used", k)
		}
	}
	for _, k := range sortedKeys(obj) {
		v := obj[k]
		switch k {
		case "element":
		case "name":
			s, ok := text(v)
			if !ok {
				im.warnf("name: not a string; not used")
				continue
			}
			im.origName = s
		case "id":
			// The instance's id in Open Connectors: kept as a comment, since the
			// agent numbers its instances itself (instanceId in the callbacks).
			if s, ok := text(v); ok && s != "" {
				im.ocID = s
				continue
			}
			im.warnf("id: not a number or string; not used")
		case "tags":
			im.readTags(v)
		case "configuration":
			cfg, ok := v.(map[string]any)
			if !ok {
				im.warnf("configuration: not an object; not used")
				continue
			}
			im.readConfiguration(cfg)
		case "providerData":
			pd, ok := v.(map[string]any)
			if !ok {
				im.warnf("providerData: not an object; not used")
				continue
			}
			for _, pk := range sortedKeys(pd) {
				if s, ok := text(pd[pk]); pk == "code" && ok {
					im.code = strings.TrimSpace(s)
				} else {
					im.warnf("providerData.%s: not used", pk)
				}
			}
		case "eventsEnabled":
			if b, ok := v.(bool); ok {
				cfg, _ := obj["configuration"].(map[string]any)
				if _, set := cfg["event.notification.enabled"]; !set {
					im.enabled = &b
				}
				continue
			}
			im.warnf("eventsEnabled: not a boolean; not used")
		default:
			im.warnf("%s: not used", k)
		}
	}
	im.name = sanitizeName(im.origName)
	switch {
	case im.origName == "":
		im.warnf("name: empty; the instance is named %q (change it as you like: [a-z0-9_-]+)", im.name)
	case im.name != im.origName:
		im.warnf("name: %q is written as %q (instance names are [a-z0-9_-]+)", im.origName, im.name)
	}
	if im.code != "" {
		im.warnf("providerData.code: sign in once with: onedrive-agent login --code '%s' %s", im.code, im.name)
		im.warnf("providerData.code: an authorization code works once and for minutes only, and Open Connectors may have redeemed it already; if the login fails, run: onedrive-agent login %s", im.name)
	}
	return nil
}

func (im *importer) readTags(v any) {
	list, ok := v.([]any)
	if !ok {
		im.warnf("tags: not an array; not used")
		return
	}
	for i, e := range list {
		s, ok := text(e)
		switch {
		case !ok:
			im.warnf("tags[%d]: not a string; not used", i)
		case strings.TrimSpace(s) == "":
			im.warnf("tags[%d]: empty; dropped", i)
		default:
			im.tags = append(im.tags, s)
		}
	}
}

// sanitizeName lower-cases a name and replaces every run of other characters by "-".
func sanitizeName(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > 64 {
		name = strings.Trim(name[:64], "-")
	}
	if name == "" {
		name = "onedrive"
	}
	return name
}
