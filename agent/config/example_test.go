package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "agent.toml.example"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"OD_CLIENT_SECRET":  "app-secret",
		"OD_SIGNATURE_KEY":  "sig-key",
		"OD_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"OD_HOOK_API_KEY":   "api-key",
	}
	// The example's client_id is a placeholder that must be replaced.
	if _, err := Parse("agent.toml.example", data, envOf(env)); err == nil || !strings.Contains(err.Error(), "example's placeholder") {
		t.Errorf("the example's client_id is not reported as a placeholder: %v", err)
	}
	filled := strings.Replace(string(data), zeroClientID, "9a1b2c3d-0000-4000-8000-000000000001", 1)
	cfg := mustParse(t, "agent.toml.example", filled, env)
	if len(cfg.Warnings) != 0 {
		t.Errorf("the example warns: %q", cfg.Warnings)
	}
	if len(cfg.Instances) != 2 || cfg.Instances[0].Name != "finance" || cfg.Instances[1].Auth.ClientSecret != "app-secret" {
		t.Errorf("instances: %+v", cfg.Instances)
	}
	// Every key of docs/configuration.md appears in the example, set or commented.
	text := string(data)
	keys := append([]string{"data_dir"}, logKeys...)
	keys = append(keys, adminKeys...)
	keys = append(keys, networkKeys...)
	keys = append(keys, fleetKeys...)
	keys = append(keys, instanceKeys...)
	for _, sec := range sectionKeys {
		keys = append(keys, sec...)
	}
	for _, k := range keys {
		if !strings.Contains(text, "\n"+k+" ") && !strings.Contains(text, "# "+k+" ") && !strings.Contains(text, "[instance."+k+"]") {
			t.Errorf("the example does not show %s", k)
		}
	}
	// Without the variables, each placeholder is named.
	_, err = Parse("agent.toml.example", data, nil)
	for _, v := range []string{"OD_CLIENT_SECRET", "OD_SIGNATURE_KEY", "OD_WEBHOOK_SECRET", "OD_HOOK_API_KEY"} {
		if err == nil || !strings.Contains(err.Error(), "environment variable "+v+" is not set") {
			t.Errorf("missing %s not reported: %v", v, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(filepath.Join("..", "..", "agent.toml.example")); err == nil {
		f.Add(string(data))
	}
	f.Add(minimal)
	f.Add("[defaults.poll]\ninterval = \"${X}\"\n" + minimal)
	f.Add("instance = [{ name = \"a\", auth = { client_id = \"x\" } }]")
	f.Add("a = [[1], [2, {x = 1}]]\n[[b.c]]\n[b.c.d]\n'e' = \"\"\"\n\"\"\"")
	f.Add(minimal + "[instance.poll]\nschedule = \"@daily\"\ntimezone = \"Asia/Kathmandu\"\nactive_hours = [\"Sat-Sun 22:00-01:00\"]\n")
	f.Fuzz(func(t *testing.T, data string) {
		cfg, err := Parse("agent.toml", []byte(data), func(string) (string, bool) { return "v", true })
		if (cfg == nil) == (err == nil) {
			t.Fatalf("want a config or an error, got %v and %v", cfg, err)
		}
	})
}
