package agent

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// hostGuard refuses, with 421 Misdirected Request, every request whose Host
// header does not name the admin listener: a web page the operator opens
// elsewhere could otherwise reach the listener through a DNS name it
// controls that resolves to 127.0.0.1 (DNS rebinding). Allowed are
// localhost, 127.0.0.1, [::1], the listener's own host, the address the
// connection reached, any address of the machine when the listener is on
// 0.0.0.0 or ::, and the names of [admin] hosts. Names are compared without
// the port, case and a trailing dot. GET /healthz answers any Host, so
// probes need no name.
type hostGuard struct {
	next  http.Handler
	names map[string]bool
	// anyAddr: the listener is on an unspecified address, so every address
	// of the machine is its own.
	anyAddr bool
	ifAddrs func() ([]net.Addr, error)

	mu     sync.Mutex
	local  map[string]bool
	readAt time.Time
}

// ifAddrsMaxAge is how long the machine's addresses are trusted before a
// Host that is not among them makes them be read again.
const ifAddrsMaxAge = 10 * time.Second

func newHostGuard(next http.Handler, listen []string, hosts []string) *hostGuard {
	g := &hostGuard{
		next:    next,
		names:   map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true},
		ifAddrs: net.InterfaceAddrs,
	}
	for _, l := range listen {
		if l == "" {
			continue
		}
		host := l
		if h, _, err := net.SplitHostPort(l); err == nil {
			host = h // "" for ":8720", every address
		}
		host = canonicalHost(host)
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			g.anyAddr = true
			continue
		}
		g.names[host] = true
	}
	for _, h := range hosts {
		if h = canonicalHost(h); h != "" {
			g.names[h] = true
		}
	}
	return g
}

func (g *hostGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" || g.allowed(r) {
		g.next.ServeHTTP(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusMisdirectedRequest)
	_, _ = w.Write([]byte("421 misdirected request: the Host header is not a name of this admin listener;\n" +
		"use its address or localhost, or add the name to [admin] hosts in agent.toml\n"))
}

func (g *hostGuard) allowed(r *http.Request) bool {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = canonicalHost(host)
	if host == "" {
		return false
	}
	if g.names[host] {
		return true
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return false
	}
	// The address the client reached is this machine's own.
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && la.IP.Equal(ip) {
		return true
	}
	return g.anyAddr && g.machineAddr(ip)
}

// machineAddr tells whether ip is one of the machine's addresses, reading
// them again when the list is older than ifAddrsMaxAge.
func (g *hostGuard) machineAddr(ip net.IP) bool {
	key := ip.String()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.local[key] {
		return true
	}
	if g.local != nil && time.Since(g.readAt) < ifAddrsMaxAge {
		return false
	}
	g.readAt = time.Now()
	addrs, err := g.ifAddrs()
	if err != nil {
		return false
	}
	g.local = map[string]bool{}
	for _, a := range addrs {
		var aip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			aip = v.IP
		case *net.IPAddr:
			aip = v.IP
		}
		if aip != nil {
			g.local[aip.String()] = true
		}
	}
	return g.local[key]
}

// canonicalHost lowercases a host name and drops IPv6 brackets, a zone and
// a trailing dot, so that equal names compare equal.
func canonicalHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if i := strings.IndexByte(h, '%'); i >= 0 && strings.Contains(h, ":") {
		h = h[:i]
	}
	h = strings.TrimSuffix(h, ".")
	if ip := net.ParseIP(h); ip != nil {
		return ip.String()
	}
	return h
}
