package callback

import "time"

// Message mirrors store.Message until the store package lands.
type Message struct {
	Key         uint64
	ID          string
	Events      int
	Body        []byte
	Created     time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
}
