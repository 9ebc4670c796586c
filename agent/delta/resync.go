package delta

import "fmt"

// Resync makes the next round a reconciling resync: a full enumeration whose
// differences with the index are reported (new → CREATED, changed →
// UPDATED, missing → DELETED). A round still fetching is discarded; a round
// already being applied finishes first.
func Resync(db DB) error {
	err := db.Update(func(tx Tx) error {
		st, err := loadRound(tx)
		if err != nil {
			return err
		}
		if st != nil && st.Phase != phaseFetch {
			st.ResyncNext = true
			return saveRound(tx, st)
		}
		if st != nil {
			if err := clearRound(tx); err != nil {
				return err
			}
		}
		return saveRound(tx, &roundState{ID: newRoundID(), Phase: phaseFetch, Resync: true})
	})
	if err != nil {
		return fmt.Errorf("request resync: %w", err)
	}
	return nil
}
