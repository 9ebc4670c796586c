package delta

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/onedrive-agent/onedrive-agent/store"
)

// emit hands the pending events to Emit in key order, at most EmitChunk per
// transaction. The round state's Pos, saved in the same transaction, is the
// key of the last event handed over: the pending bucket is dropped whole when
// the round commits, not event by event. Before each slice it checks the
// queue: at MaxQueue the round pauses with its progress saved.
func (a *applier) emit() (finished, paused bool, err error) {
	for a.budget > 0 {
		// A slice is not cut to what is left of the budget: slices are
		// whole messages (see Limits.EmitBatch).
		n := min(a.lim.EmitBatch, a.lim.EmitChunk-a.emitted)
		if n <= 0 {
			a.budget = 0 // commit this chunk: its events become deliverable
			return false, false, nil
		}
		var after, last []byte
		if a.st.Pos != "" {
			after = []byte(a.st.Pos)
		}
		events := make([]Event, 0, n)
		err := a.tx.ForEachPending(after, func(k, v []byte) error {
			if len(k) > 0 && k[0] >= keyCascade {
				return store.Stop
			}
			ev, err := decodeEvent(v)
			if err != nil {
				return err
			}
			if ev.rawStaged {
				if ev.Raw, err = a.rawOf(ev.ItemID); err != nil {
					return err
				}
				ev.rawStaged = false
			}
			last = k
			events = append(events, ev)
			if len(events) >= n {
				return store.Stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, store.Stop) {
			return false, false, fmt.Errorf("read pending events: %w", err)
		}
		if len(events) == 0 {
			return true, false, nil
		}
		if a.r.MaxQueue > 0 {
			q, err := a.tx.QueuedEvents()
			if err != nil {
				return false, false, fmt.Errorf("count queued events: %w", err)
			}
			if q >= a.r.MaxQueue {
				a.r.log().Info("event queue full: delta round paused", "queued", q, "max_queue", a.r.MaxQueue,
					"emitted", a.st.Emitted, "remaining", a.st.Events-a.st.Emitted)
				return false, true, nil
			}
		}
		if err := a.r.Emit(a.tx, events); err != nil {
			return false, false, fmt.Errorf("emit %d events: %w", len(events), err)
		}
		a.st.Pos = string(last)
		a.budget -= len(events)
		a.emitted += len(events)
		a.st.Emitted += int64(len(events))
		a.res.Events += len(events)
	}
	return false, false, nil
}

// rawOf reads the raw item of an event from the item's staged record.
func (a *applier) rawOf(id string) ([]byte, error) {
	rec, ok, err := a.tx.Staged(id)
	if err != nil {
		return nil, fmt.Errorf("read staged item %q: %w", id, err)
	}
	if !ok {
		return nil, fmt.Errorf("pending event of item %q has no staged record: %w", id, errDamaged)
	}
	raw, err := stagedRaw(id, rec)
	if err == nil && len(raw) == 0 {
		err = fmt.Errorf("staged record of item %q has no raw item for its event: %w", id, errDamaged)
	}
	return raw, err
}

// rawRef is the parentReference of a minimal raw item.
type rawRef struct {
	ID      string `json:"id,omitempty"`
	DriveID string `json:"driveId,omitempty"`
}

type rawDeleted struct {
	State string `json:"state"`
}

type rawMinimal struct {
	ID              string      `json:"id"`
	Name            string      `json:"name,omitempty"`
	ParentReference rawRef      `json:"parentReference"`
	Deleted         *rawDeleted `json:"deleted,omitempty"`
}

// minimalDeleted is the raw item of an inferred deletion: id, name,
// parentReference and the deleted facet.
func minimalDeleted(id, name, parentID, driveID string) json.RawMessage {
	b, _ := json.Marshal(rawMinimal{
		ID:              id,
		Name:            name,
		ParentReference: rawRef{ID: parentID, DriveID: driveID},
		Deleted:         &rawDeleted{State: "deleted"},
	})
	return b
}

type rawItem struct {
	ID                   string    `json:"id"`
	Name                 string    `json:"name"`
	ETag                 string    `json:"eTag,omitempty"`
	CTag                 string    `json:"cTag,omitempty"`
	Size                 *int64    `json:"size,omitempty"`
	LastModifiedDateTime string    `json:"lastModifiedDateTime,omitempty"`
	ParentReference      rawRef    `json:"parentReference"`
	File                 *struct{} `json:"file,omitempty"`
	Folder               *struct{} `json:"folder,omitempty"`
}

// synthRaw builds a driveItem from the index for an item Graph did not send
// in this round (a descendant of a folder moved into scope).
func (a *applier) synthRaw(it *store.Item) json.RawMessage {
	r := rawItem{
		ID:              it.ID,
		Name:            it.Name,
		ETag:            it.ETag,
		CTag:            it.CTag,
		ParentReference: rawRef{ID: it.ParentID, DriveID: a.st.DriveID},
	}
	if it.Size >= 0 {
		r.Size = &it.Size
	}
	if knownTime(it.Modified) {
		r.LastModifiedDateTime = it.Modified.UTC().Format(time.RFC3339)
	}
	if it.Folder {
		r.Folder = &struct{}{}
	} else {
		r.File = &struct{}{}
	}
	b, _ := json.Marshal(r)
	return b
}
