package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHostGuard: the admin listener answers only to its own names; a Host
// a rebound DNS name would send is refused with 421.
func TestHostGuard(t *testing.T) {
	machine := func() ([]net.Addr, error) {
		return []net.Addr{
			&net.IPNet{IP: net.ParseIP("192.168.1.10"), Mask: net.CIDRMask(24, 32)},
			&net.IPNet{IP: net.ParseIP("fd00::10"), Mask: net.CIDRMask(64, 128)},
		}, nil
	}
	tests := []struct {
		name   string
		listen []string
		hosts  []string
		host   string
		path   string
		local  string // the address the connection reached; "" none
		want   int
	}{
		{"loopback address", []string{"127.0.0.1:8720"}, nil, "127.0.0.1:8720", "/v1/status", "", 200},
		{"localhost", []string{"127.0.0.1:8720"}, nil, "localhost:8720", "/v1/status", "", 200},
		{"localhost any case, trailing dot", []string{"127.0.0.1:8720"}, nil, "LocalHost.:8720", "/", "", 200},
		{"ipv6 loopback", []string{"127.0.0.1:8720"}, nil, "[::1]:8720", "/v1/status", "", 200},
		{"no port", []string{"127.0.0.1:8720"}, nil, "127.0.0.1", "/v1/status", "", 200},
		{"configured name", []string{"127.0.0.1:8720"}, []string{"agent.example.internal"}, "Agent.Example.Internal:443", "/v1/status", "", 200},
		{"listen name", []string{"admin.example:9000"}, nil, "admin.example:9000", "/v1/status", "", 200},
		{"listen address", []string{"10.0.0.5:8720"}, nil, "10.0.0.5:8720", "/v1/status", "", 200},
		{"reached address", []string{"127.0.0.1:8720"}, nil, "10.9.9.9:8720", "/v1/status", "10.9.9.9:8720", 200},
		{"any address: a machine address", []string{"0.0.0.0:8720"}, nil, "192.168.1.10:8720", "/v1/status", "", 200},
		{"any address: a machine ipv6", []string{"[::]:8720"}, nil, "[fd00::10]:8720", "/v1/status", "", 200},
		{"empty host part listens everywhere", []string{":8720"}, nil, "192.168.1.10", "/v1/status", "", 200},

		{"rebinding name", []string{"127.0.0.1:8720"}, nil, "attacker.example:8720", "/v1/status", "", 421},
		{"rebinding name on the console", []string{"127.0.0.1:8720"}, nil, "attacker.example", "/", "", 421},
		{"rebinding name on the sign-in", []string{"127.0.0.1:8720"}, nil, "attacker.example", "/login", "", 421},
		{"rebinding name on metrics", []string{"127.0.0.1:8720"}, nil, "attacker.example", "/metrics", "", 421},
		{"localhost as a subdomain", []string{"127.0.0.1:8720"}, nil, "localhost.attacker.example", "/v1/status", "", 421},
		{"loopback as a subdomain", []string{"127.0.0.1:8720"}, nil, "127.0.0.1.nip.io:8720", "/v1/status", "", 421},
		{"name that ends like localhost", []string{"127.0.0.1:8720"}, nil, "evillocalhost", "/v1/status", "", 421},
		{"empty host", []string{"127.0.0.1:8720"}, nil, "", "/v1/status", "", 421},
		{"another machine address, specific listener", []string{"10.0.0.5:8720"}, nil, "192.168.1.10", "/v1/status", "", 421},
		{"any address: not the machine's", []string{"0.0.0.0:8720"}, nil, "192.168.1.11", "/v1/status", "", 421},
		{"configured name is not a suffix rule", []string{"127.0.0.1:8720"}, []string{"example.internal"}, "agent.example.internal", "/v1/status", "", 421},

		{"healthz answers any host", []string{"127.0.0.1:8720"}, nil, "attacker.example", "/healthz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
			g := newHostGuard(ok, tt.listen, tt.hosts)
			g.ifAddrs = machine
			req := httptest.NewRequest("GET", "http://x"+tt.path, nil)
			req.Host = tt.host
			if tt.local != "" {
				la, err := net.ResolveTCPAddr("tcp", tt.local)
				if err != nil {
					t.Fatal(err)
				}
				req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, la))
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Errorf("Host %q on %s: %d, want %d", tt.host, tt.path, w.Code, tt.want)
			}
			if w.Code == 421 && !strings.Contains(w.Body.String(), "[admin] hosts") {
				t.Errorf("the refusal does not say what to do: %q", w.Body)
			}
		})
	}
}

// TestAdminHandler_HostRule: the whole admin handler, API included, is
// behind the Host rule; a refused request does nothing.
func TestAdminHandler_HostRule(t *testing.T) {
	srv, fc := newFakeAdmin(t)
	for _, tc := range []struct{ method, path, auth string }{
		{"GET", "/v1/status", ""},
		{"GET", "/metrics", ""},
		{"POST", "/v1/instances/finance/poll", "Bearer " + testToken},
		{"DELETE", "/v1/instances/finance/dead", "Bearer " + testToken},
		{"GET", "/", ""},
		{"POST", "/login", ""},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		req.Host = "rebound.attacker.example"
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMisdirectedRequest {
			t.Errorf("%s %s with a foreign Host: %d, want 421", tc.method, tc.path, resp.StatusCode)
		}
	}
	if calls := fc.Calls(); len(calls) != 0 {
		t.Errorf("refused requests reached the agent: %v", calls)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/healthz", nil)
	req.Host = "probe.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/healthz with any Host: %d, want 200", resp.StatusCode)
	}
	// The server's own address passes: the request reached it.
	if code, _, _ := doReq(t, "GET", srv.URL+"/v1/status", ""); code != 200 {
		t.Errorf("/v1/status on the listener's address: %d, want 200", code)
	}
}
