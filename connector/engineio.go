package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Engine.IO v4 carries one packet per WebSocket text message: a type digit, then data.
// Socket.IO v5 packets ride in Engine.IO "message" packets (type 4): "40" connects a
// namespace, "42" is an event, "44" a refused connect.
const (
	eioOpen    = '0'
	eioClose   = '1'
	eioPing    = '2'
	eioPong    = "3"
	eioMessage = '4'
	eioNoop    = '6'

	sioConnect      = '0'
	sioDisconnect   = '1'
	sioEvent        = '2'
	sioConnectError = '4'

	// pushNamespace is the socket.io namespace of Graph's notification URL path.
	pushNamespace = "/notifications"
	// pushEvent is the event name Graph announces changes with.
	pushEvent = "notification"
	// maxPushMessage bounds one WebSocket message from the notification service.
	maxPushMessage = 1 << 20
)

// openPacket is the data of the Engine.IO open packet, in milliseconds.
type openPacket struct {
	SID          string `json:"sid"`
	PingInterval int64  `json:"pingInterval"`
	PingTimeout  int64  `json:"pingTimeout"`
}

// sessionResult says how a link ended.
type sessionResult struct {
	err       error
	connected bool // the handshake completed before the link ended
	refused   bool // the server refused the handshake: ask for a new URL
	renew     bool // the URL is due for renewal (not a failure)
}

// errLinkDead is a link that sent no ping within pingInterval+pingTimeout.
var errLinkDead = errors.New("push link dead: no ping from the server within pingInterval+pingTimeout")

// session runs one link: dial, read the open packet, connect the namespaces, then answer
// pings and report notifications until the link fails, the watchdog fires, renewAt passes or
// ctx ends. connected is called once the server accepted a namespace connect.
func (p *Push) session(ctx context.Context, notificationURL string, renewAt time.Time, connected func()) sessionResult {
	if !p.o.Now().Before(renewAt) {
		return sessionResult{renew: true}
	}
	wsURL, err := SocketURL(notificationURL)
	if err != nil {
		return sessionResult{err: err, refused: true}
	}
	dctx, cancel := context.WithTimeout(ctx, p.o.HandshakeTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, wsURL, &websocket.DialOptions{
		HTTPClient: p.hc,
		HTTPHeader: http.Header{"User-Agent": {p.ua}},
	})
	if err != nil {
		res := sessionResult{err: fmt.Errorf("push dial %s: %w", redactURL(wsURL), stripURL(err, wsURL))}
		if resp != nil && resp.StatusCode >= 300 && resp.StatusCode < 500 {
			// A refusal, or a redirect (not followed): the next attempt asks for a new URL.
			res.err = fmt.Errorf("push dial %s: handshake refused with HTTP %d", redactURL(wsURL), resp.StatusCode)
			res.refused = true
		}
		return res
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxPushMessage)

	// The open packet comes first, within the handshake timeout.
	typ, data, err := conn.Read(dctx)
	if err != nil {
		return sessionResult{err: fmt.Errorf("push: waiting for the open packet: %w", err)}
	}
	if typ != websocket.MessageText || len(data) == 0 || data[0] != eioOpen {
		return sessionResult{err: fmt.Errorf("push: expected an Engine.IO open packet, got %q", clip(data)), refused: true}
	}
	var op openPacket
	if err := json.Unmarshal(data[1:], &op); err != nil || op.PingInterval <= 0 || op.PingTimeout <= 0 {
		return sessionResult{err: fmt.Errorf("push: bad open packet %q", clip(data)), refused: true}
	}
	watch := time.Duration(op.PingInterval+op.PingTimeout) * time.Millisecond
	for _, ns := range []string{"40", "40" + pushNamespace + ","} {
		if err := conn.Write(dctx, websocket.MessageText, []byte(ns)); err != nil {
			return sessionResult{err: fmt.Errorf("push: connect namespace: %w", err)}
		}
	}
	cancel()

	var res sessionResult
	deadline := p.o.Now().Add(watch)
	for {
		now := p.o.Now()
		if !now.Before(renewAt) {
			res.renew = true
			_ = conn.Close(websocket.StatusNormalClosure, "renewing")
			return res
		}
		if !now.Before(deadline) {
			res.err = errLinkDead
			return res
		}
		wait := min(deadline.Sub(now), renewAt.Sub(now))
		rctx, rcancel := context.WithTimeout(ctx, wait)
		typ, data, err := conn.Read(rctx)
		timedOut := rctx.Err() != nil && ctx.Err() == nil
		rcancel()
		if err != nil {
			if timedOut {
				// The read was cut by the watchdog or the renewal time: the loop decides which.
				// coder/websocket closes the connection on a cancelled read, so it ends here.
				if !p.o.Now().Before(renewAt) {
					res.renew = true
				} else {
					res.err = errLinkDead
				}
				return res
			}
			res.err = fmt.Errorf("push link: %w", err)
			return res
		}
		if typ != websocket.MessageText || len(data) == 0 {
			continue // Graph sends no binary packets; ignore them
		}
		switch data[0] {
		case eioPing:
			deadline = p.o.Now().Add(watch)
			if err := conn.Write(ctx, websocket.MessageText, []byte(eioPong)); err != nil {
				res.err = fmt.Errorf("push: answer ping: %w", err)
				return res
			}
		case eioClose:
			res.err = errors.New("push link closed by the server")
			return res
		case eioMessage:
			if len(data) < 2 {
				continue
			}
			ns, payload := splitNamespace(data[2:])
			switch data[1] {
			case sioConnect:
				if !res.connected {
					res.connected = true
					connected()
				}
			case sioConnectError:
				res.err = fmt.Errorf("push: the server refused namespace %q: %s", ns, clip(payload))
				res.refused = true
				return res
			case sioDisconnect:
				res.err = fmt.Errorf("push: the server disconnected namespace %q", ns)
				return res
			case sioEvent:
				if eventName(payload) == pushEvent && p.o.Observer.Notification != nil {
					p.o.Observer.Notification()
				}
			}
		case eioNoop:
		default:
			p.log.Debug("push: ignored packet", "packet", clip(data))
		}
	}
}

// splitNamespace splits a socket.io packet body "/ns,<ackid>[…]" or "<ackid>[…]" into the
// namespace ("/" when absent) and the payload after any ack id.
func splitNamespace(b []byte) (string, []byte) {
	ns := "/"
	if len(b) > 0 && b[0] == '/' {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			return string(b), nil
		}
		ns, b = string(b[:i]), b[i+1:]
	}
	for len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		b = b[1:]
	}
	return ns, b
}

// eventName returns the name of a socket.io event payload ["name", …], "" when it is not one.
func eventName(payload []byte) string {
	var args []json.RawMessage
	if err := json.Unmarshal(payload, &args); err != nil || len(args) == 0 {
		return ""
	}
	var name string
	if err := json.Unmarshal(args[0], &name); err != nil {
		return ""
	}
	return name
}

// redactURL drops the query of a notification URL: its token is a credential.
func redactURL(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// stripURL removes the query of u (its token) from an error text, in whatever form the
// error quotes the URL.
func stripURL(err error, u string) error {
	i := strings.IndexByte(u, '?')
	if i < 0 || !strings.Contains(err.Error(), u[i+1:]) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), u[i+1:], "…"))
}

func clip(b []byte) string { return cleanText(string(b), 120) }
