package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// appOnly is a client_credentials instance; rows append [instance.drive] and [instance.poll].
const appOnly = `[[instance]]
name = "t"
[instance.auth]
flow = "client_credentials"
tenant = "contoso.onmicrosoft.com"
client_id = "id"
client_secret = "s"
[instance.callback]
url = "https://hook.example/x"
`

// oneDrive is appOnly watching one drive.
const oneDrive = appOnly + "[instance.drive]\ndrive = \"b!x\"\n"

func TestParse_Tenant(t *testing.T) {
	cfg := mustParse(t, "agent.toml", appOnly+`[instance.drive]
drive = "ALL"
users = ["*@contoso.com"]
sites = ["https://contoso.sharepoint.com/sites/*"]
rediscover = "1h"
[instance.poll]
requests_per_second = 6.5
concurrency = 8
`, nil)
	in := cfg.Instances[0]
	tc := in.Drive.Tenant
	if tc == nil || !tc.Users || !tc.Sites || tc.Rediscover != time.Hour || in.Drive.Spec != DriveAll ||
		len(tc.UserGlobs) != 1 || len(tc.SiteGlobs) != 1 {
		t.Fatalf("tenant %+v, spec %q", tc, in.Drive.Spec)
	}
	if in.Poll.RequestsPerSecond != 6.5 || in.Poll.Concurrency != 8 {
		t.Errorf("poll %+v", in.Poll)
	}
	if cfg.Fleet.Shards != 1 || cfg.Fleet.Shard != 0 || cfg.Fleet.Handover != DefaultHandover {
		t.Errorf("fleet default %+v", cfg.Fleet)
	}

	cfg = mustParse(t, "agent.toml", appOnly+"[instance.drive]\ndrive = \"all-users\"\n", nil)
	in = cfg.Instances[0]
	if tc := in.Drive.Tenant; tc == nil || !tc.Users || tc.Sites || tc.Rediscover != DefaultRediscover ||
		in.Poll.RequestsPerSecond != DefaultRequestsPerSecond || in.Poll.Concurrency != DefaultConcurrency {
		t.Errorf("defaults: %+v %+v", in.Drive.Tenant, in.Poll)
	}
	if in := mustParse(t, "agent.toml", minimal, nil).Instances[0]; in.Drive.Tenant != nil || in.Poll.RequestsPerSecond != 0 {
		t.Errorf("a one-drive instance: %+v %+v", in.Drive.Tenant, in.Poll)
	}
}

func TestParse_Fleet(t *testing.T) {
	defer func(h func() (string, error)) { hostname = h }(hostname)
	hostname = func() (string, error) { return "onedrive-agent-2", nil }
	cfg := mustParse(t, "agent.toml", "[fleet]\nshards = 3\nshard = \"hostname\"\nhandover = \"30m\"\n"+oneDrive, nil)
	if cfg.Fleet != (Fleet{Shards: 3, Shard: 2, Handover: 30 * time.Minute}) {
		t.Errorf("fleet %+v", cfg.Fleet)
	}
	if cfg := mustParse(t, "agent.toml", "[fleet]\nshards = 4\nshard = 1\n"+oneDrive, nil); cfg.Fleet.Shard != 1 {
		t.Errorf("fleet %+v", cfg.Fleet)
	}
}

func TestParse_TenantErrors(t *testing.T) {
	defer func(h func() (string, error)) { hostname = h }(hostname)
	hostname = func() (string, error) { return "agent", nil }
	tests := []struct {
		name, toml, key, msg string
	}{
		{"delegated flow", minimal + "[instance.drive]\ndrive = \"all\"\n", "instance.drive.drive", "client_credentials"},
		{"users on one drive", appOnly + "[instance.drive]\ndrive = \"b!x\"\nusers = [\"*\"]\n", "instance.drive.users", "applies only"},
		{"sites on all-users", appOnly + "[instance.drive]\ndrive = \"all-users\"\nsites = [\"*\"]\n", "instance.drive.sites", "applies only"},
		{"empty glob", appOnly + "[instance.drive]\ndrive = \"all\"\nusers = [\" \"]\n", "instance.drive.users[0]", "must not be empty"},
		{"short rediscover", appOnly + "[instance.drive]\ndrive = \"all\"\nrediscover = \"1s\"\n", "instance.drive.rediscover", "minimum"},
		{"rediscover on one drive", appOnly + "[instance.drive]\ndrive = \"b!x\"\nrediscover = \"1h\"\n", "instance.drive.rediscover", "tenant-wide"},
		{"zero rate", oneDrive + "[instance.poll]\nrequests_per_second = 0\n", "instance.poll.requests_per_second", "more than 0"},
		{"rate not a number", oneDrive + "[instance.poll]\nrequests_per_second = \"fast\"\n", "instance.poll.requests_per_second", "a number"},
		{"concurrency", oneDrive + "[instance.poll]\nconcurrency = 0\n", "instance.poll.concurrency", "1 to 256"},
		{"shard too big", "[fleet]\nshards = 2\nshard = 2\n" + oneDrive, "fleet.shard", "0 … 1"},
		{"hostname without number", "[fleet]\nshards = 2\nshard = \"hostname\"\n" + oneDrive, "fleet.shard", "does not end in a number"},
		{"no shards", "[fleet]\nshards = 0\n" + oneDrive, "fleet.shards", "1 to 1024"},
		{"unknown fleet key", "[fleet]\nshardz = 2\n" + oneDrive, "fleet.shardz", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("agent.toml", []byte(tt.toml), nil)
			lines := errLines(err)
			if len(lines) != 1 || !strings.Contains(lines[0], " "+tt.key+": ") || !strings.Contains(lines[0], tt.msg) {
				t.Fatalf("errors %q, want one on %s containing %q", lines, tt.key, tt.msg)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("not a *config.Error: %T", err)
			}
		})
	}
}
