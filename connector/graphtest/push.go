package graphtest

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// The socket.io notification channel, as Graph offers it for a signed-in user's drive:
//
//	GET <drive>/root/subscriptions/socketIo   → {"notificationUrl": "<URL>/notifications?token=…&applicationId=…",
//	                                             "expirationDateTime": …}  (403 for app-only tokens)
//	GET /socket.io/?EIO=4&transport=websocket&token=…   Engine.IO v4 over WebSocket
//
// A link sends the open packet 0{"sid","pingInterval","pingTimeout",…}, answers the socket.io
// connects "40" and "40/notifications," with "40{…}" and "40/notifications,{…}", pings "2"
// every PushPingInterval and drops a client that does not answer "3" within PushPingTimeout,
// and announces every change of the drive, once per change (PushDuplicates times), as
// 42/notifications,["notification","{\"value\":[…]}"] to links that connected the
// /notifications namespace. It closes a link when its URL expires; a handshake with an
// expired or unknown URL gets HTTP 401.
//
// Faults: DropPushLinks (connections cut), SilencePushLinks (silent dead links: no pings, no
// notifications, the connection stays open), RefusePushHandshakes (HTTP status or socket.io
// 44 connect errors), PushLifetime (short expiry), PushDuplicates (bursts of duplicate
// notifications), and for the subscription request InjectFault(ClassSubscription, …), e.g.
// Fault{Status: 400, Code: "notSupported"}, or PushForbidden (403).

// pushState is the server's side of the notification channel; guarded by Server.mu.
type pushState struct {
	subs    map[string]time.Time // notification URL token → expiry
	links   map[*pushLink]struct{}
	refuse  int // handshakes left to refuse
	status  int // with this HTTP status; 0 = socket.io connect error 44
	sent    int // notification events sent
	handsh  int // completed namespace connects
	nextSID int
}

// pushLink is one open WebSocket link.
type pushLink struct {
	drop    chan struct{}
	dropped sync.Once
	silent  bool // guarded by Server.mu
}

func (l *pushLink) cut() { l.dropped.Do(func() { close(l.drop) }) }

const (
	defaultPushPingInterval = 25 * time.Second
	defaultPushPingTimeout  = 20 * time.Second
	defaultPushLifetime     = time.Hour
	pushTick                = 10 * time.Millisecond
)

func (o Options) pushTimes() (interval, timeout, life time.Duration) {
	interval, timeout, life = o.PushPingInterval, o.PushPingTimeout, o.PushLifetime
	if interval <= 0 {
		interval = defaultPushPingInterval
	}
	if timeout <= 0 {
		timeout = defaultPushPingTimeout
	}
	if life <= 0 {
		life = defaultPushLifetime
	}
	return interval, timeout, life
}

// serveSubscription answers GET <drive>/root/subscriptions/socketIo; s.mu is held.
func (s *Server) serveSubscription(w http.ResponseWriter, r *http.Request, tok accessGrant) {
	if tok.app {
		s.graphError(w, r, http.StatusForbidden, "accessDenied", "Application permissions are not supported for socketIo subscriptions.")
		return
	}
	if s.opts.PushForbidden {
		s.graphError(w, r, http.StatusForbidden, "accessDenied", "Change notifications are not available for this account.")
		return
	}
	_, _, life := s.opts.pushTimes()
	if s.push.subs == nil {
		s.push.subs = map[string]time.Time{}
	}
	token := randomToken(24)
	exp := s.now().Add(life)
	s.push.subs[token] = exp
	app := tok.client
	if app == "" {
		app = "00000000-0000-0000-0000-000000000000"
	}
	body, _ := json.Marshal(map[string]any{
		"@odata.context":     s.GraphURL() + "/$metadata#subscriptions/$entity",
		"id":                 "socketIo",
		"notificationUrl":    s.URL + "/notifications?token=" + token + "&applicationId=" + app,
		"expirationDateTime": exp.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"resource":           r.URL.Path,
	})
	s.writeJSON(w, r, http.StatusOK, body)
}

// servePush runs one Engine.IO link at /socket.io/.
func (s *Server) servePush(w http.ResponseWriter, r *http.Request, entry *Request) {
	entry.Class = ClassPush
	q := r.URL.Query()
	s.mu.Lock()
	token := q.Get("token")
	exp, known := s.push.subs[token]
	refuse, status := s.push.refuse > 0, s.push.status
	if refuse {
		s.push.refuse--
	}
	interval, timeout, _ := s.opts.pushTimes()
	now := s.now()
	s.push.nextSID++
	sid := "sid-" + strconv.Itoa(s.push.nextSID)
	s.mu.Unlock()

	logged := func(status int) {
		entry.Status = status
		s.mu.Lock()
		entry.Done = s.now()
		s.mu.Unlock()
		s.record(*entry)
	}
	switch {
	case q.Get("EIO") != "4" || q.Get("transport") != "websocket":
		http.Error(w, `{"code":0,"message":"Transport unknown"}`, http.StatusBadRequest)
		logged(http.StatusBadRequest)
		return
	case !known || !now.Before(exp):
		http.Error(w, `{"code":3,"message":"Bad request"}`, http.StatusUnauthorized)
		logged(http.StatusUnauthorized)
		return
	case refuse && status != 0:
		http.Error(w, `{"code":3,"message":"Bad request"}`, status)
		logged(status)
		return
	}
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		logged(http.StatusBadRequest)
		return
	}
	logged(http.StatusSwitchingProtocols)
	defer c.CloseNow()
	link := &pushLink{drop: make(chan struct{})}
	s.mu.Lock()
	if s.push.links == nil {
		s.push.links = map[*pushLink]struct{}{}
	}
	s.push.links[link] = struct{}{}
	seen := s.tree.head
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.push.links, link)
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	open, _ := json.Marshal(map[string]any{"sid": sid, "upgrades": []string{}, "maxPayload": 1000000,
		"pingInterval": interval.Milliseconds(), "pingTimeout": timeout.Milliseconds()})
	if c.Write(ctx, websocket.MessageText, append([]byte("0"), open...)) != nil {
		return
	}
	in := make(chan string, 16)
	go func() {
		defer close(in)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			select {
			case in <- string(b):
			case <-ctx.Done():
				return
			}
		}
	}()
	send := func(p string) bool { return c.Write(ctx, websocket.MessageText, []byte(p)) == nil }
	nsConnected := false
	nextPing := time.Now().Add(interval)
	var pongBy time.Time
	tick := time.NewTicker(pushTick)
	defer tick.Stop()
	for {
		select {
		case <-link.drop:
			return
		case p, ok := <-in:
			if !ok {
				return
			}
			switch {
			case p == "3":
				pongBy = time.Time{}
			case p == "40" || strings.HasPrefix(p, "40{"):
				if refuse {
					send(`44{"message":"Not authorized"}`)
					return
				}
				if !send(`40{"sid":"` + sid + `-root"}`) {
					return
				}
			case strings.HasPrefix(p, "40/notifications"):
				if refuse {
					send(`44/notifications,{"message":"Not authorized"}`)
					return
				}
				if !send(`40/notifications,{"sid":"` + sid + `"}`) {
					return
				}
				nsConnected = true
				s.mu.Lock()
				s.push.handsh++
				seen = s.tree.head // changes before the connect are the client's poll's business
				s.mu.Unlock()
			case p == "41" || strings.HasPrefix(p, "41/"):
				return
			}
		case <-tick.C:
			s.mu.Lock()
			silent, head, now := link.silent, s.tree.head, s.now()
			exp = s.push.subs[token]
			dups := max(s.opts.PushDuplicates, 1)
			s.mu.Unlock()
			if !now.Before(exp) {
				send("1")
				return
			}
			if silent {
				continue
			}
			if !pongBy.IsZero() && time.Now().After(pongBy) {
				return // the client missed a ping
			}
			if time.Now().After(nextPing) {
				if !send("2") {
					return
				}
				nextPing, pongBy = time.Now().Add(interval), time.Now().Add(timeout)
			}
			if nsConnected && head > seen {
				n := int(min(head-seen, 100)) * dups
				for i := 0; i < n; i++ {
					if !send(s.notification(exp)) {
						return
					}
				}
				s.mu.Lock()
				s.push.sent += n
				s.mu.Unlock()
				seen = head
			}
		}
	}
}

// notification is one event as Graph sends it: the argument is a JSON string of the
// webhook-style envelope, with no item data.
func (s *Server) notification(exp time.Time) string {
	env, _ := json.Marshal(map[string]any{"value": []map[string]any{{
		"subscriptionId":     "socketIo",
		"clientState":        "system-managed:" + s.guidPrefix,
		"expirationDateTime": exp.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"resource":           "drives/" + s.driveID + "/root",
		"tenantId":           "",
		"siteUrl":            "",
		"webId":              "",
	}}})
	arg, _ := json.Marshal(string(env))
	return `42/notifications,["notification",` + string(arg) + `]`
}

// DropPushLinks cuts every open notification link abruptly (no close frame) and returns how
// many there were.
func (s *Server) DropPushLinks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.push.links {
		l.cut()
	}
	return len(s.push.links)
}

// ExpirePushURLs makes every notification URL handed out so far expired: open links are
// closed and handshakes with those URLs get HTTP 401, so clients must ask for a new one.
func (s *Server) ExpirePushURLs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.now().Add(-time.Second)
	for k := range s.push.subs {
		s.push.subs[k] = past
	}
}

// SilencePushLinks makes every open link a silent dead link: it stays open but sends no
// pings and no notifications. New links behave normally. It returns how many it silenced.
func (s *Server) SilencePushLinks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.push.links {
		l.silent = true
	}
	return len(s.push.links)
}

// RefusePushHandshakes refuses the next n WebSocket handshakes: with HTTP status, or with a
// socket.io connect error (44) after the open packet when status is 0. n = 0 ends refusals.
func (s *Server) RefusePushHandshakes(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.push.refuse, s.push.status = n, status
}

// PushLinks returns the number of open notification links.
func (s *Server) PushLinks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.push.links)
}

// PushStats returns how many namespace connects completed and how many notification events
// were sent, since the server started.
func (s *Server) PushStats() (connects, notifications int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.push.handsh, s.push.sent
}
