package delta

import "time"

// Progress describes the round in progress of an instance, for status pages.
type Progress struct {
	Phase   string    // "fetch", "sweep", "before", "index", "events" or "emit"
	Mode    string    // "incremental", "baseline", "backfill" or "reconcile"
	Resync  bool      // the round is (or will start as) a resync
	Pages   int64     // pages received so far
	Items   int64     // items received so far
	Events  int64     // events computed so far
	Emitted int64     // events handed to Emit so far
	Started time.Time // when the round started; zero for a resync not yet started
}

// InProgress reports the round in progress; ok is false when there is none.
func InProgress(tx Tx) (p Progress, ok bool, err error) {
	st, err := loadRound(tx)
	if err != nil || st == nil {
		return Progress{}, false, err
	}
	return Progress{
		Phase:   st.Phase.String(),
		Mode:    st.Mode.String(),
		Resync:  st.Resync || st.ResyncNext,
		Pages:   st.Pages,
		Items:   st.Items,
		Events:  st.Events,
		Emitted: st.Emitted,
		Started: st.Seen,
	}, true, nil
}
