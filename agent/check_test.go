package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestCheckTenantWide: the drive step of a tenant-wide instance proves the
// app may list the tenant's users and sites.
func TestCheckTenantWide(t *testing.T) {
	tn := graphtest.NewTenant(graphtest.TenantOptions{MaxTop: 2})
	defer tn.Close()
	seedTenant(tn)
	e := newTenantEnv(t, tn, config.Tenant{Users: true, Sites: true, Rediscover: time.Hour}, config.Fleet{Shards: 1})
	steps, err := e.agent.Check(context.Background(), "t")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || !steps[0].OK || !steps[1].OK || !strings.Contains(steps[1].Detail, "may list the tenant's users and sites") {
		t.Fatalf("check of a tenant-wide instance: %+v", steps)
	}
	if steps[2].OK {
		t.Errorf("callback step passed against a closed port: %+v", steps[2])
	}
}

// TestCheckCallbackShowsRedactedURL: the callback step names the webhook
// without its query string, which may carry a token.
func TestCheckCallbackShowsRedactedURL(t *testing.T) {
	e := newTestEnv(t)
	e.cfg.Instances[0].Callback.URL = e.recv.srv.URL + "/hooks/finance?code=s3cret-query"
	a, err := New(Options{Config: e.cfg, DB: e.db, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	steps, err := a.Check(context.Background(), "finance")
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-1]
	if want := e.recv.srv.URL + "/hooks/finance?… "; last.Step != CheckCallback || !last.OK ||
		!strings.HasPrefix(last.Detail, want) || strings.Contains(last.Detail, "s3cret") {
		t.Errorf("callback step = %+v, want OK and detail starting %q without the query", last, want)
	}
}
