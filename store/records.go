package store

import "github.com/onedrive-agent/onedrive-agent/store/record"

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
	e := record.NewEncoder(32 + len(in.Name))
	e.Byte(fmtInstance)
	e.Uint(uint64(in.ID))
	e.Str(in.Name)
	e.Time(in.Created)
	return e.Data()
}

func decodeInstance(b []byte) (Instance, error) {
	d := record.NewDecoder(b)
	d.Version(fmtInstance)
	id := d.Uint()
	if id > 1<<32-1 {
		d.Fail(errShort)
	}
	in := Instance{ID: uint32(id), Name: d.Str(), Created: d.Time()}
	return in, d.Done()
}

func encodeToken(t Token) []byte {
	e := record.NewEncoder(64 + len(t.AccessToken) + len(t.RefreshToken))
	e.Byte(fmtToken)
	e.Str(t.AccessToken)
	e.Str(t.RefreshToken)
	e.Str(t.TokenType)
	e.Time(t.Expiry)
	return e.Data()
}

func decodeToken(b []byte) (Token, error) {
	d := record.NewDecoder(b)
	d.Version(fmtToken)
	t := Token{AccessToken: d.Str(), RefreshToken: d.Str(), TokenType: d.Str(), Expiry: d.Time()}
	return t, d.Done()
}

const (
	stateBaselined = 1 << iota
	stateNeedsLogin
)

func encodeState(s State) []byte {
	e := record.NewEncoder(96 + len(s.DriveID) + len(s.Scope) + len(s.LastPollError) + len(s.LastDeliveryError))
	e.Byte(fmtState)
	e.Str(s.DriveID)
	e.Str(s.Scope)
	var f byte
	if s.Baselined {
		f |= stateBaselined
	}
	if s.NeedsLogin {
		f |= stateNeedsLogin
	}
	e.Byte(f)
	e.Time(s.LastPoll)
	e.Time(s.LastSuccess)
	e.Str(s.LastPollError)
	e.Str(s.LastDeliveryError)
	e.Uint(s.Resyncs)
	return e.Data()
}

func decodeState(b []byte) (State, error) {
	d := record.NewDecoder(b)
	d.Version(fmtState)
	var s State
	s.DriveID = d.Str()
	s.Scope = d.Str()
	f := d.Byte()
	if f&^(stateBaselined|stateNeedsLogin) != 0 {
		d.Fail(errBadFlags)
	}
	s.Baselined = f&stateBaselined != 0
	s.NeedsLogin = f&stateNeedsLogin != 0
	s.LastPoll = d.Time()
	s.LastSuccess = d.Time()
	s.LastPollError = d.Str()
	s.LastDeliveryError = d.Str()
	s.Resyncs = d.Uint()
	return s, d.Done()
}

const (
	itemFolder = 1 << iota
	itemRoot
)

func encodeItem(it Item) []byte {
	e := record.NewEncoder(48 + len(it.ID) + len(it.ParentID) + len(it.Name) + len(it.ETag) + len(it.CTag) + len(it.Hash))
	e.Byte(fmtItem)
	e.Str(it.ID)
	e.Str(it.ParentID)
	e.Str(it.Name)
	e.Str(it.ETag)
	e.Str(it.CTag)
	e.Int(it.Size)
	e.Str(it.Hash)
	var f byte
	if it.Folder {
		f |= itemFolder
	}
	if it.Root {
		f |= itemRoot
	}
	e.Byte(f)
	e.Time(it.Modified)
	return e.Data()
}

func decodeItem(b []byte) (Item, error) {
	d := record.NewDecoder(b)
	d.Version(fmtItem)
	var it Item
	d.Strs(&it.ID, &it.ParentID, &it.Name, &it.ETag, &it.CTag)
	it.Size = d.Int()
	it.Hash = d.Str()
	f := d.Byte()
	if f&^(itemFolder|itemRoot) != 0 {
		d.Fail(errBadFlags)
	}
	it.Folder = f&itemFolder != 0
	it.Root = f&itemRoot != 0
	it.Modified = d.Time()
	return it, d.Done()
}

// itemParent reads only the parent id of an index record.
func itemParent(b []byte) (string, error) {
	d := record.NewDecoder(b)
	d.Version(fmtItem)
	d.Raw() // id
	p := d.Raw()
	if err := d.Err(); err != nil {
		return "", err
	}
	return string(p), nil
}

// appendMessage writes the fields of m (not its Key, which is the record's
// key) so that a dead letter can embed them.
func appendMessage(e *record.Encoder, m *Message) {
	e.Str(m.ID)
	e.Uint(uint64(m.Events))
	e.Bytes(m.Body)
	e.Time(m.Created)
	e.Uint(uint64(m.Attempts))
	e.Time(m.NextAttempt)
	e.Str(m.LastError)
}

func readMessage(d *record.Decoder, m *Message) {
	m.ID = d.Str()
	m.Events = d.Count("events")
	m.Body = d.Bytes()
	m.Created = d.Time()
	m.Attempts = d.Count("attempts")
	m.NextAttempt = d.Time()
	m.LastError = d.Str()
}

func encodeMessage(m *Message) []byte {
	e := record.NewEncoder(48 + len(m.ID) + len(m.Body) + len(m.LastError))
	e.Byte(fmtMessage)
	appendMessage(e, m)
	return e.Data()
}

// decodeMessage decodes a queue record; key is the record's queue key.
func decodeMessage(key uint64, b []byte) (Message, error) {
	d := record.NewDecoder(b)
	d.Version(fmtMessage)
	m := Message{Key: key}
	readMessage(d, &m)
	return m, d.Done()
}

// messageEvents reads only the event count of a queue record, for the
// counters kept by Ack and Reject, without copying the body.
func messageEvents(b []byte) (int, error) {
	d := record.NewDecoder(b)
	d.Version(fmtMessage)
	d.Raw() // ID
	n := d.Count("events")
	return n, d.Err()
}

func encodeDead(dl *DeadLetter) []byte {
	e := record.NewEncoder(64 + len(dl.ID) + len(dl.Body) + len(dl.LastError) + len(dl.Reason))
	e.Byte(fmtDead)
	appendMessage(e, &dl.Message)
	e.Str(dl.Reason)
	e.Time(dl.Died)
	return e.Data()
}

func decodeDead(key uint64, b []byte) (DeadLetter, error) {
	d := record.NewDecoder(b)
	d.Version(fmtDead)
	dl := DeadLetter{Message: Message{Key: key}}
	readMessage(d, &dl.Message)
	dl.Reason = d.Str()
	dl.Died = d.Time()
	return dl, d.Done()
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
	e := record.NewEncoder(64)
	e.Byte(fmtCounters)
	for _, v := range []int64{c.QueuedMsgs, c.QueuedEvents, c.DeadMsgs, c.DeadEvents, c.Items, c.Staged} {
		e.Int(v)
	}
	e.Uint(c.Seq)
	e.Uint(c.Tail)
	e.Uint(c.Low)
	return e.Data()
}

func decodeCounters(b []byte) (counters, error) {
	d := record.NewDecoder(b)
	d.Version(fmtCounters)
	var c counters
	for _, p := range []*int64{&c.QueuedMsgs, &c.QueuedEvents, &c.DeadMsgs, &c.DeadEvents, &c.Items, &c.Staged} {
		*p = d.Int()
		if *p < 0 {
			d.Fail(errNegative)
		}
	}
	c.Seq = d.Uint()
	c.Tail = d.Uint()
	c.Low = d.Uint()
	if d.Err() == nil && (c.Low == 0 || c.Low > c.Tail) {
		d.Fail(errBadKeys)
	}
	return c, d.Done()
}
