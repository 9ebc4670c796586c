// Package deploy holds the tests of the container image definition (../Dockerfile) and the
// Kubernetes manifests (kubernetes/).
package deploy

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

// get walks a decoded YAML value along keys (strings for mappings, ints for sequences).
func get(t *testing.T, v any, keys ...any) any {
	t.Helper()
	cur := v
	for i, k := range keys {
		switch k := k.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping", keys[:i])
			}
			if cur, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", keys[:i], k)
			}
		case int:
			s, ok := cur.([]any)
			if !ok || k >= len(s) {
				t.Fatalf("%v: no item %d", keys[:i], k)
			}
			cur = s[k]
		}
	}
	return cur
}

// manifests decodes every file of deploy/kubernetes and returns the objects by kind, and the
// kustomization's resources.
func manifests(t *testing.T) (map[string]map[string]any, []any) {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	objs := map[string]map[string]any{}
	var resources []any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := decodeYAML(string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, d := range docs {
			m, ok := d.(map[string]any)
			if !ok {
				t.Fatalf("%s: a document is not a mapping", f)
			}
			kind, _ := m["kind"].(string)
			if kind == "Kustomization" {
				resources, _ = m["resources"].([]any)
				continue
			}
			if _, dup := objs[kind]; dup {
				t.Fatalf("%s: a second %s", f, kind)
			}
			objs[kind] = m
		}
	}
	return objs, resources
}

// agentConfig is the part of agent.toml the manifests must agree with.
type agentConfig struct {
	DataDir string `toml:"data_dir"`
	Admin   struct {
		Listen string `toml:"listen"`
	} `toml:"admin"`
	Fleet struct {
		Shards int    `toml:"shards"`
		Shard  string `toml:"shard"`
	} `toml:"fleet"`
	Instance []struct {
		Auth struct {
			Flow             string `toml:"flow"`
			ClientSecretFile string `toml:"client_secret_file"`
		} `toml:"auth"`
		Drive struct {
			Drive string `toml:"drive"`
		} `toml:"drive"`
		Poll struct {
			RequestsPerSecond float64 `toml:"requests_per_second"`
		} `toml:"poll"`
		Callback struct {
			WebhookSecretFile string `toml:"webhook_secret_file"`
		} `toml:"callback"`
	} `toml:"instance"`
}

func TestManifests(t *testing.T) {
	objs, resources := manifests(t)
	for _, kind := range []string{"StatefulSet", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"} {
		if objs[kind] == nil {
			t.Fatalf("no %s in deploy/kubernetes", kind)
		}
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	var want []any
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" {
			want = append(want, base)
		}
	}
	if !sameSet(resources, want) {
		t.Errorf("kustomization resources %v, want every manifest %v", resources, want)
	}

	sts, svc, cm, sec, pdb := objs["StatefulSet"], objs["Service"], objs["ConfigMap"], objs["Secret"], objs["PodDisruptionBudget"]
	var cfg agentConfig
	if _, err := toml.Decode(get(t, cm, "data", "agent.toml").(string), &cfg); err != nil {
		t.Fatalf("agent.toml in the ConfigMap: %v", err)
	}
	pod := get(t, sts, "spec", "template", "spec")
	podLabels := get(t, sts, "spec", "template", "metadata", "labels")
	ctr := get(t, pod, "containers", 0)

	t.Run("fleet", func(t *testing.T) {
		if r := get(t, sts, "spec", "replicas"); r != cfg.Fleet.Shards || cfg.Fleet.Shards < 2 {
			t.Errorf("replicas %v, [fleet] shards %d: they must be equal", r, cfg.Fleet.Shards)
		}
		if cfg.Fleet.Shard != "hostname" {
			t.Errorf(`[fleet] shard = %q, want "hostname"`, cfg.Fleet.Shard)
		}
		if len(cfg.Instance) == 0 || cfg.Instance[0].Auth.Flow != "client_credentials" || cfg.Instance[0].Poll.RequestsPerSecond <= 0 {
			t.Errorf("the instance must be app-only with requests_per_second set: %+v", cfg.Instance)
		}
		if get(t, sts, "spec", "serviceName") != get(t, svc, "metadata", "name") || get(t, svc, "spec", "clusterIP") != "None" {
			t.Error("the StatefulSet's serviceName must be a headless Service")
		}
		if !reflect.DeepEqual(get(t, svc, "spec", "selector"), podLabels) {
			t.Error("the Service does not select the pods")
		}
	})

	t.Run("data volume", func(t *testing.T) {
		claim := get(t, sts, "spec", "volumeClaimTemplates", 0)
		name := get(t, claim, "metadata", "name")
		if m := get(t, claim, "spec", "accessModes"); !sameSet(m.([]any), []any{"ReadWriteOnce"}) {
			t.Errorf("accessModes %v", m)
		}
		if mountPath(t, ctr, name.(string)) != cfg.DataDir || cfg.DataDir != "/data" {
			t.Errorf("volume claim %v is not mounted at data_dir %q", name, cfg.DataDir)
		}
	})

	t.Run("probes", func(t *testing.T) {
		_, port, err := net.SplitHostPort(cfg.Admin.Listen)
		if err != nil || !strings.HasPrefix(cfg.Admin.Listen, "0.0.0.0:") {
			t.Fatalf("[admin] listen %q must be 0.0.0.0:PORT for probes", cfg.Admin.Listen)
		}
		ports := get(t, ctr, "ports").([]any)
		named := map[any]any{}
		for _, p := range ports {
			named[get(t, p, "name")] = get(t, p, "containerPort")
		}
		for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/v1/status"} {
			if got := get(t, ctr, probe, "httpGet", "path"); got != path {
				t.Errorf("%s path %v, want %s", probe, got, path)
			}
			p := get(t, ctr, probe, "httpGet", "port")
			if n, ok := named[p]; ok {
				p = n
			}
			if toString(p) != port {
				t.Errorf("%s port %v, admin listens on %s", probe, p, port)
			}
		}
	})

	t.Run("non-root", func(t *testing.T) {
		if get(t, pod, "securityContext", "runAsNonRoot") != true {
			t.Error("runAsNonRoot is not set")
		}
		if u := get(t, pod, "securityContext", "runAsUser"); u == 0 {
			t.Error("runAsUser 0")
		}
		if get(t, ctr, "securityContext", "allowPrivilegeEscalation") != false {
			t.Error("allowPrivilegeEscalation is not false")
		}
	})

	t.Run("secrets", func(t *testing.T) {
		var secretVol, configVol string
		for _, v := range get(t, pod, "volumes").([]any) {
			m := v.(map[string]any)
			if s, ok := m["secret"]; ok && get(t, s, "secretName") == get(t, sec, "metadata", "name") {
				secretVol = m["name"].(string)
				if mode := get(t, s, "defaultMode").(int); mode&0o007 != 0 {
					t.Errorf("secret files readable by others: mode %o", mode)
				}
			}
			if c, ok := m["configMap"]; ok && get(t, c, "name") == get(t, cm, "metadata", "name") {
				configVol = m["name"].(string)
			}
		}
		if secretVol == "" || configVol == "" {
			t.Fatalf("the Secret (%q) and the ConfigMap (%q) must both be volumes", secretVol, configVol)
		}
		dir := mountPath(t, ctr, secretVol)
		data := get(t, sec, "stringData").(map[string]any)
		for _, f := range []string{cfg.Instance[0].Auth.ClientSecretFile, cfg.Instance[0].Callback.WebhookSecretFile} {
			if path.Dir(f) != dir || data[path.Base(f)] == nil {
				t.Errorf("secret file %q is not a key of the Secret mounted at %s", f, dir)
			}
		}
		args := get(t, ctr, "args").([]any)
		if len(args) < 3 || args[0] != "run" || path.Dir(toString(args[2])) != mountPath(t, ctr, configVol) {
			t.Errorf("args %v do not run the ConfigMap's agent.toml", args)
		}
	})

	t.Run("agent.toml is valid", func(t *testing.T) {
		// The secret files as the pod sees them, and this host's shard as the pod's name gives it.
		dir := t.TempDir()
		text := get(t, cm, "data", "agent.toml").(string)
		text = strings.ReplaceAll(text, path.Dir(cfg.Instance[0].Auth.ClientSecretFile), filepath.ToSlash(dir))
		text = strings.Replace(text, `shard    = "hostname"`, "shard    = 2", 1)
		// The one value the operator must fill in; check refuses it as it ships.
		if !strings.Contains(text, `"REPLACE-with-the-application-client-id"`) {
			t.Fatal("the ConfigMap no longer asks for the client id")
		}
		if _, err := config.Parse("agent.toml", []byte(text), nil); err == nil || !strings.Contains(err.Error(), "client_id") {
			t.Errorf("the ConfigMap as shipped parses (err %v): its placeholder client id must be refused", err)
		}
		text = strings.Replace(text, "REPLACE-with-the-application-client-id", "6731de76-14a6-49ae-97bc-6eba6914391e", 1)
		for k := range get(t, sec, "stringData").(map[string]any) {
			if err := os.WriteFile(filepath.Join(dir, k), []byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		c, err := config.Parse("agent.toml", []byte(text), nil)
		if err != nil {
			t.Fatalf("the ConfigMap's agent.toml: %v", err)
		}
		if c.Fleet.Shards != 3 || c.Fleet.Shard != 2 || c.Instances[0].Drive.Tenant == nil {
			t.Errorf("fleet %+v, tenant %+v", c.Fleet, c.Instances[0].Drive.Tenant)
		}
	})

	t.Run("disruption budget", func(t *testing.T) {
		if get(t, pdb, "apiVersion") != "policy/v1" {
			t.Errorf("PodDisruptionBudget apiVersion %v", get(t, pdb, "apiVersion"))
		}
		if !reflect.DeepEqual(get(t, pdb, "spec", "selector", "matchLabels"), podLabels) {
			t.Error("the PodDisruptionBudget does not select the pods")
		}
		if get(t, pdb, "spec", "maxUnavailable") != 1 {
			t.Errorf("maxUnavailable %v, want 1", get(t, pdb, "spec", "maxUnavailable"))
		}
	})
}

func mountPath(t *testing.T, ctr any, volume string) string {
	t.Helper()
	for _, m := range get(t, ctr, "volumeMounts").([]any) {
		if get(t, m, "name") == volume {
			return get(t, m, "mountPath").(string)
		}
	}
	return ""
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case int:
		return strconv.Itoa(v)
	}
	return ""
}

func sameSet(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[any]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{"EXPOSE 8720", `VOLUME ["/data"]`} {
		if !strings.Contains(s, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The binary is built static from ./cmd/onedrive-agent, by the Dockerfile itself or by
	// the build script it runs.
	build, where := s, "Dockerfile"
	if strings.Contains(s, "scripts/build.sh") {
		b, err := os.ReadFile("../scripts/build.sh")
		if err != nil {
			t.Fatal(err)
		}
		build, where = string(b), "scripts/build.sh (run by the Dockerfile)"
	}
	for _, want := range []string{"CGO_ENABLED=0", "./cmd/onedrive-agent"} {
		if !strings.Contains(build, want) {
			t.Errorf("%s lacks %q", where, want)
		}
	}
	var user string
	stages := 0
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "FROM" {
			stages++
			user = "" // USER applies to its own stage
		}
		if len(f) >= 2 && f[0] == "USER" {
			user = f[1]
		}
	}
	if stages < 2 {
		t.Errorf("%d stages: build and runtime must be separate", stages)
	}
	if u, _, _ := strings.Cut(user, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("the final stage runs as %q, want a non-root user", user)
	}
}

// TestDockerBuild builds the image where a container engine answers; elsewhere it skips.
func TestDockerBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("building an image takes minutes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no container engine here (docker info: %v: %s)", err, lastLine(out))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tag := "onedrive-agent:test-build"
	out, err := exec.CommandContext(ctx, "docker", "build", "-t", tag, "..").CombinedOutput()
	if err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	defer exec.Command("docker", "image", "rm", tag).Run()
	out, err = exec.CommandContext(ctx, "docker", "run", "--rm", tag, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("docker run %s version: %v\n%s", tag, err, out)
	}
	out, err = exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{.Config.User}}", tag).CombinedOutput()
	if u := strings.TrimSpace(string(out)); err != nil || u == "" || u == "0" || strings.HasPrefix(u, "root") {
		t.Errorf("image user %q (%v)", u, err)
	}
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	return s[strings.LastIndexByte(s, '\n')+1:]
}
