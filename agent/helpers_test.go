package agent

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// graphInstanceTOML is an [[instance]] block named name on the fake Graph
// server g, signed in as the test app with client credentials, polling
// hourly and delivering to callback with short retries. extra holds more
// of the instance's own keys, one a line ("": none).
func graphInstanceTOML(g *graphtest.Server, name, extra, callback string) string {
	return instanceBlock{name: name, extra: extra, clientID: testClientID, loginURL: g.LoginURL(),
		graphURL: g.GraphURL(), drive: g.DriveID(), callback: callback, quickRetries: true}.String()
}

// instanceBlock is an [[instance]] block of a test configuration: an app
// signed in to a fake Graph, polling hourly.
type instanceBlock struct {
	name  string
	extra string // more of the instance's own keys, one a line
	// flow is the sign-in flow; "" or client_credentials signs in with the
	// test secret in tenant contoso.example.
	flow                                string
	clientID, loginURL, graphURL, drive string
	poll                                string // [instance.poll] keys besides interval = "1h", one a line
	callback                            string // the callback URL
	quickRetries                        bool   // retry_initial = "50ms", retry_max = "200ms"
}

// String returns the block as TOML.
func (b instanceBlock) String() string {
	var s strings.Builder
	fmt.Fprintf(&s, "[[instance]]\nname = %q\n%s[instance.auth]\n", b.name, b.extra)
	if b.flow == "" || b.flow == config.FlowClientCredentials {
		fmt.Fprintf(&s, "flow = %q\ntenant = \"contoso.example\"\nclient_secret = %q\n", config.FlowClientCredentials, testSecret)
	} else {
		fmt.Fprintf(&s, "flow = %q\n", b.flow)
	}
	fmt.Fprintf(&s, "client_id = %q\nlogin_url = %q\ngraph_url = %q\n[instance.drive]\ndrive = %q\n", b.clientID, b.loginURL, b.graphURL, b.drive)
	fmt.Fprintf(&s, "[instance.poll]\ninterval = \"1h\"\n%s[instance.callback]\nurl = %q\n", b.poll, b.callback)
	if b.quickRetries {
		s.WriteString("retry_initial = \"50ms\"\nretry_max = \"200ms\"\n")
	}
	return s.String()
}

// agentTOML is the top of a test configuration: the data directory dir and
// no admin listener.
func agentTOML(dir string) string {
	return fmt.Sprintf("data_dir = %q\n[admin]\nlisten = \"\"\n", dir)
}

// parseAndOpen parses toml as dir/agent.toml and opens dir/agent.db
// without fsync; the store is closed when the test ends.
func parseAndOpen(t testing.TB, dir, toml string) (*config.Config, *store.DB) {
	t.Helper()
	cfg, err := config.Parse(filepath.Join(dir, "agent.toml"), []byte(toml), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return cfg, db
}

// listenLocal is a listener on a free loopback port, for the admin API.
func listenLocal(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// runAgent runs a in the background. It returns the run's context and a
// stop that cancels it and checks that Run returns nil within 5s; stop
// may be called more than once and is called when the test ends.
func runAgent(t *testing.T, a *Agent) (context.Context, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil after cancel", err)
				}
			case <-time.After(5 * time.Second):
				t.Error("Run did not return within 5s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return ctx, stop
}

// runWithAdmin runs an agent on e's configuration and store with an admin
// listener of its own (opts adds to those options) and waits for finance's
// baseline poll. It returns the agent, a client of its admin API, the
// run's context and the stop of runAgent.
func (e *testEnv) runWithAdmin(t *testing.T, opts Options) (*Agent, *AdminClient, context.Context, func()) {
	t.Helper()
	ln := listenLocal(t)
	opts.Config, opts.DB, opts.Version, opts.AdminListener = e.cfg, e.db, "1.2.3", ln
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := runAgent(t, a)
	waitFor(t, 5*time.Second, "the baseline poll", func() bool {
		st, err := e.db.State("finance")
		return err == nil && st.Baselined
	})
	return a, &AdminClient{BaseURL: "http://" + ln.Addr().String(), Token: e.token}, ctx, stop
}
