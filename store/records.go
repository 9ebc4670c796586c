package store

// Format versions of the stored records. A change of layout gets a new
// version byte and, when old files must be migrated, a new schema version.
const (
	fmtInstance = 1
	fmtToken    = 1
	fmtState    = 1
	fmtItem     = 1
	fmtMessage  = 1
	fmtDead     = 1
	fmtCounters = 1
)

func encodeInstance(in Instance) []byte {
	e := enc{b: make([]byte, 0, 32+len(in.Name))}
	e.byte(fmtInstance)
	e.uint(uint64(in.ID))
	e.str(in.Name)
	e.time(in.Created)
	return e.b
}

func decodeInstance(b []byte) (Instance, error) {
	d := dec{b: b}
	d.version(fmtInstance)
	id := d.uint()
	if id > 1<<32-1 {
		d.fail(errShort)
	}
	in := Instance{ID: uint32(id), Name: d.str(), Created: d.time()}
	return in, d.done()
}

func encodeToken(t Token) []byte {
	e := enc{b: make([]byte, 0, 64+len(t.AccessToken)+len(t.RefreshToken))}
	e.byte(fmtToken)
	e.str(t.AccessToken)
	e.str(t.RefreshToken)
	e.str(t.TokenType)
	e.time(t.Expiry)
	return e.b
}

func decodeToken(b []byte) (Token, error) {
	d := dec{b: b}
	d.version(fmtToken)
	t := Token{AccessToken: d.str(), RefreshToken: d.str(), TokenType: d.str(), Expiry: d.time()}
	return t, d.done()
}

const (
	stateBaselined = 1 << iota
	stateNeedsLogin
)

func encodeState(s State) []byte {
	e := enc{b: make([]byte, 0, 96+len(s.DriveID)+len(s.Scope)+len(s.LastPollError)+len(s.LastDeliveryError))}
	e.byte(fmtState)
	e.str(s.DriveID)
	e.str(s.Scope)
	var f byte
	if s.Baselined {
		f |= stateBaselined
	}
	if s.NeedsLogin {
		f |= stateNeedsLogin
	}
	e.byte(f)
	e.time(s.LastPoll)
	e.time(s.LastSuccess)
	e.str(s.LastPollError)
	e.str(s.LastDeliveryError)
	e.uint(s.Resyncs)
	return e.b
}

func decodeState(b []byte) (State, error) {
	d := dec{b: b}
	d.version(fmtState)
	var s State
	s.DriveID = d.str()
	s.Scope = d.str()
	f := d.byte()
	if f&^(stateBaselined|stateNeedsLogin) != 0 {
		d.fail(errBadFlags)
	}
	s.Baselined = f&stateBaselined != 0
	s.NeedsLogin = f&stateNeedsLogin != 0
	s.LastPoll = d.time()
	s.LastSuccess = d.time()
	s.LastPollError = d.str()
	s.LastDeliveryError = d.str()
	s.Resyncs = d.uint()
	return s, d.done()
}

const (
	itemFolder = 1 << iota
	itemRoot
)

func encodeItem(it Item) []byte {
	e := enc{b: make([]byte, 0, 48+len(it.ID)+len(it.ParentID)+len(it.Name)+len(it.ETag)+len(it.CTag)+len(it.Hash))}
	e.byte(fmtItem)
	e.str(it.ID)
	e.str(it.ParentID)
	e.str(it.Name)
	e.str(it.ETag)
	e.str(it.CTag)
	e.int(it.Size)
	e.str(it.Hash)
	var f byte
	if it.Folder {
		f |= itemFolder
	}
	if it.Root {
		f |= itemRoot
	}
	e.byte(f)
	e.time(it.Modified)
	return e.b
}

func decodeItem(b []byte) (Item, error) {
	d := dec{b: b}
	d.version(fmtItem)
	var it Item
	it.ID = d.str()
	it.ParentID = d.str()
	it.Name = d.str()
	it.ETag = d.str()
	it.CTag = d.str()
	it.Size = d.int()
	it.Hash = d.str()
	f := d.byte()
	if f&^(itemFolder|itemRoot) != 0 {
		d.fail(errBadFlags)
	}
	it.Folder = f&itemFolder != 0
	it.Root = f&itemRoot != 0
	it.Modified = d.time()
	return it, d.done()
}

// appendMessage writes the fields of m (not its Key, which is the record's
// key) so that a dead letter can embed them.
func appendMessage(e *enc, m *Message) {
	e.str(m.ID)
	e.uint(uint64(m.Events))
	e.bytes(m.Body)
	e.time(m.Created)
	e.uint(uint64(m.Attempts))
	e.time(m.NextAttempt)
	e.str(m.LastError)
}

func readMessage(d *dec, m *Message) {
	m.ID = d.str()
	m.Events = d.count("events")
	m.Body = d.bytes()
	m.Created = d.time()
	m.Attempts = d.count("attempts")
	m.NextAttempt = d.time()
	m.LastError = d.str()
}

func encodeMessage(m *Message) []byte {
	e := enc{b: make([]byte, 0, 48+len(m.ID)+len(m.Body)+len(m.LastError))}
	e.byte(fmtMessage)
	appendMessage(&e, m)
	return e.b
}

// decodeMessage decodes a queue record; key is the record's queue key.
func decodeMessage(key uint64, b []byte) (Message, error) {
	d := dec{b: b}
	d.version(fmtMessage)
	m := Message{Key: key}
	readMessage(&d, &m)
	return m, d.done()
}

// messageEvents reads only the event count of a queue record, for the
// counters kept by Ack and Reject, without copying the body.
func messageEvents(b []byte) (int, error) {
	d := dec{b: b}
	d.version(fmtMessage)
	d.raw() // ID
	n := d.count("events")
	return n, d.err
}

func encodeDead(dl *DeadLetter) []byte {
	e := enc{b: make([]byte, 0, 64+len(dl.ID)+len(dl.Body)+len(dl.LastError)+len(dl.Reason))}
	e.byte(fmtDead)
	appendMessage(&e, &dl.Message)
	e.str(dl.Reason)
	e.time(dl.Died)
	return e.b
}

func decodeDead(key uint64, b []byte) (DeadLetter, error) {
	d := dec{b: b}
	d.version(fmtDead)
	dl := DeadLetter{Message: Message{Key: key}}
	readMessage(&d, &dl.Message)
	dl.Reason = d.str()
	dl.Died = d.time()
	return dl, d.done()
}

// counters is the per-instance bookkeeping record kept in step with the
// buckets by every write, so that counts and Stats are O(1).
type counters struct {
	QueuedMsgs, QueuedEvents int64
	DeadMsgs, DeadEvents     int64
	Items, Staged            int64
	Seq                      uint64 // last value handed out by NextSeq
	Tail                     uint64 // next queue key at the tail
	Low                      uint64 // lowest queue key ever handed out (head side)
}

// firstKey is where the queue keys of a new instance start: the middle of
// the key space, leaving as much room below (Replay, Split) as above.
const firstKey = 1 << 62

func newCounters() counters { return counters{Tail: firstKey, Low: firstKey} }

func encodeCounters(c counters) []byte {
	e := enc{b: make([]byte, 0, 64)}
	e.byte(fmtCounters)
	for _, v := range []int64{c.QueuedMsgs, c.QueuedEvents, c.DeadMsgs, c.DeadEvents, c.Items, c.Staged} {
		e.int(v)
	}
	e.uint(c.Seq)
	e.uint(c.Tail)
	e.uint(c.Low)
	return e.b
}

func decodeCounters(b []byte) (counters, error) {
	d := dec{b: b}
	d.version(fmtCounters)
	var c counters
	for _, p := range []*int64{&c.QueuedMsgs, &c.QueuedEvents, &c.DeadMsgs, &c.DeadEvents, &c.Items, &c.Staged} {
		*p = d.int()
		if *p < 0 {
			d.fail(errNegative)
		}
	}
	c.Seq = d.uint()
	c.Tail = d.uint()
	c.Low = d.uint()
	if d.err == nil && (c.Low == 0 || c.Low > c.Tail) {
		d.fail(errBadKeys)
	}
	return c, d.done()
}
