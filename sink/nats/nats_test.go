package nats

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsio "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/sinktest"
)

const (
	subject = "onedrive.finance"
	stream  = "ONEDRIVE"
)

// startServer runs an embedded NATS server with JetStream storing in dir
// (port 0: a free one) and returns it with its host:port.
func startServer(t testing.TB, dir string, port int, change func(*server.Options)) (*server.Server, string) {
	t.Helper()
	opts := &server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true}
	if port == 0 {
		opts.Port = -1
	}
	if change != nil {
		change(opts)
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s, strings.TrimPrefix(s.ClientURL(), "nats://")
}

// createStream makes the stream capturing onedrive.> with a duplicate
// window, as an operator would.
func createStream(t testing.TB, addr string, change func(*jetstream.StreamConfig), opts ...natsio.Option) jetstream.Stream {
	t.Helper()
	nc, err := natsio.Connect("nats://"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := jetstream.StreamConfig{Name: stream, Subjects: []string{"onedrive.>"}, Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage}
	if change != nil {
		change(&cfg)
	}
	st, err := js.CreateStream(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// streamMessages reads every message of the stream, in order.
func streamMessages(t testing.TB, st jetstream.Stream) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx := context.Background()
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

func newSender(t testing.TB, addrs []string, change func(*Config)) *Sender {
	t.Helper()
	return sinktest.NewSender(t, New, Config{Instance: "finance", Servers: addrs, Subject: subject, Timeout: 5 * time.Second}, change)
}

func TestSender_Delivers(t *testing.T) {
	_, addr := startServer(t, t.TempDir(), 0, nil)
	st := createStream(t, addr, nil)
	q := &sinktest.Queue{}
	msgs := sinktest.Messages(30, 7, 5)
	q.Add(msgs...)
	loop := sinktest.NewLoop("nats", q, newSender(t, []string{addr}, nil))
	sinktest.Run(t, loop)
	sinktest.Eventually(t, 20*time.Second, "the queue to drain", func() bool { return q.Len() == 0 })

	want := sinktest.EventsByID(t, msgs)
	got := streamMessages(t, st)
	if len(got) != len(want) {
		t.Fatalf("%d messages in the stream, want %d", len(got), len(want))
	}
	var decoded []sinktest.Decoded
	for _, m := range got {
		d := sinktest.Decode(t, m.Data)
		e := want[d.EventID]
		if string(m.Data) != string(e.Data) || m.Header.Get("Nats-Msg-Id") != e.ID || m.Header.Get("eventType") != e.Type ||
			m.Header.Get("instanceName") != "finance" || m.Subject != subject {
			t.Errorf("message %s: subject %s headers %v data %s", e.ID, m.Subject, m.Header, m.Data)
		}
		decoded = append(decoded, d)
	}
	sinktest.CheckOrder(t, decoded, len(want))

	// Sent again (a lost acknowledgement, a restart): the duplicate window drops them.
	q.Add(msgs[:5]...)
	loop.Notify()
	sinktest.Eventually(t, 10*time.Second, "the resend", func() bool { return q.Len() == 0 })
	if n := len(streamMessages(t, st)); n != len(want) {
		t.Errorf("%d messages after a resend, want %d", n, len(want))
	}
}

func TestSender_Outcomes(t *testing.T) {
	_, addr := startServer(t, t.TempDir(), 0, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "agent", Password: "s3cret"},
			{Username: "narrow", Password: "s3cret", Permissions: &server.Permissions{
				Publish: &server.SubjectPermission{Allow: []string{"other.>", "$JS.API.>"}}}},
		}
	})
	createStream(t, addr, nil, natsio.UserInfo("agent", "s3cret"))
	createStream(t, addr, func(c *jetstream.StreamConfig) {
		c.Name, c.Subjects, c.MaxMsgSize = "SMALL", []string{"small.>"}, 512
	}, natsio.UserInfo("agent", "s3cret"))
	one := sinktest.Messages(1, 3, 3)[0]
	ctx := context.Background()
	user := func(c *Config) { c.Username, c.Password = "agent", "s3cret" }

	t.Run("delivered, probe passes", func(t *testing.T) {
		s := newSender(t, []string{addr}, user)
		if r := s.Send(ctx, &one); r.Outcome != deliver.Delivered {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
		if err := s.Probe(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Run("no stream: rejected, no responders", func(t *testing.T) {
		s := newSender(t, []string{addr}, func(c *Config) { user(c); c.Subject = "nostream.x" })
		r := s.Send(ctx, &one)
		if r.Outcome != deliver.Reject || !strings.Contains(r.Err.Error(), "no responders") {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
		if err := s.Probe(ctx); err == nil {
			t.Error("Probe passed without a stream")
		}
	})
	t.Run("too large: rejected with the server's reason", func(t *testing.T) {
		s := newSender(t, []string{addr}, func(c *Config) { user(c); c.Subject = "small.x" })
		big := sinktest.Message("big", sinktest.Event{ID: "e-big", Type: "CREATED", ObjectID: "x",
			Raw: `{"id":"x","pad":"` + strings.Repeat("a", 1024) + `"}`})
		r := s.Send(ctx, &big)
		if r.Outcome != deliver.Reject || !strings.Contains(r.Err.Error(), "message size exceeds maximum") {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
	})
	t.Run("publish not permitted: rejected", func(t *testing.T) {
		s := newSender(t, []string{addr}, func(c *Config) { c.Username, c.Password = "narrow", "s3cret" })
		r := s.Send(ctx, &one)
		if r.Outcome != deliver.Reject || !strings.Contains(strings.ToLower(r.Err.Error()), "permissions violation") {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
	})
	t.Run("wrong password: retried", func(t *testing.T) {
		s := newSender(t, []string{addr}, func(c *Config) { c.Username, c.Password, c.Timeout = "agent", "wrong", 300*time.Millisecond })
		if r := s.Send(ctx, &one); r.Outcome != deliver.Retry || r.Err == nil {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
	})
	t.Run("server down: retried", func(t *testing.T) {
		s := newSender(t, []string{"127.0.0.1:1"}, func(c *Config) { c.Timeout = 300 * time.Millisecond })
		if r := s.Send(ctx, &one); r.Outcome != deliver.Retry || r.Err == nil {
			t.Errorf("got %v: %v", r.Outcome, r.Err)
		}
	})
}

// TestSender_ServerRestart stops the server while messages are delivered
// and starts it again on the same store: every event is in the stream once.
func TestSender_ServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv, addr := startServer(t, dir, 0, nil)
	st := createStream(t, addr, nil)
	_, portStr, _ := strings.Cut(addr, ":")
	q := &sinktest.Queue{}
	q.Add(sinktest.Messages(300, 10, 17)...)
	sinktest.Run(t, sinktest.NewLoop("nats", q, newSender(t, []string{addr}, func(c *Config) { c.Timeout = time.Second })))
	sinktest.Eventually(t, 10*time.Second, "some deliveries", func() bool { return q.Len() < 280 })
	srv.Shutdown()
	srv.WaitForShutdown()
	time.Sleep(200 * time.Millisecond)
	port := 0
	for _, c := range portStr {
		port = port*10 + int(c-'0')
	}
	_, addr2 := startServer(t, dir, port, nil)
	sinktest.Eventually(t, 60*time.Second, "the queue to drain", func() bool { return q.Len() == 0 })
	_ = st
	nc, err := natsio.Connect("nats://" + addr2)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st2, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	msgs := streamMessages(t, st2)
	var decoded []sinktest.Decoded
	ids := map[string]int{}
	for _, m := range msgs {
		d := sinktest.Decode(t, m.Data)
		ids[d.EventID]++
		decoded = append(decoded, d)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("event %s %d times in the stream", id, n)
		}
	}
	sinktest.CheckOrder(t, decoded, 3000)
}

// TestSender_ReplayAfterTheStreamIsCreated: without a stream the messages
// go to the dead letters with the server's reason; once an operator created
// the stream, a replay delivers them, in order.
func TestSender_ReplayAfterTheStreamIsCreated(t *testing.T) {
	_, addr := startServer(t, t.TempDir(), 0, nil)
	q := &sinktest.Queue{}
	q.Add(sinktest.Messages(3, 4, 5)...)
	loop := sinktest.NewLoop("nats", q, newSender(t, []string{addr}, nil))
	sinktest.Run(t, loop)
	sinktest.Eventually(t, 10*time.Second, "three dead letters", func() bool { d, _ := q.DeadLetters(); return len(d) == 3 })
	_, reasons := q.DeadLetters()
	if !strings.Contains(reasons[0], "no responders") {
		t.Errorf("reason %q", reasons[0])
	}
	st := createStream(t, addr, nil)
	q.Replay()
	loop.Notify()
	sinktest.Eventually(t, 10*time.Second, "the replay", func() bool { return q.Len() == 0 })
	if d, _ := q.DeadLetters(); len(d) != 0 {
		t.Fatalf("%d dead letters after the replay", len(d))
	}
	var got []sinktest.Decoded
	for _, m := range streamMessages(t, st) {
		got = append(got, sinktest.Decode(t, m.Data))
	}
	sinktest.CheckOrder(t, got, 12)
}
