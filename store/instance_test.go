package store

import (
	"errors"
	"testing"
	"time"
)

func TestDB_EnsureInstance(t *testing.T) {
	db := mustOpen(t, newPath(t), Options{})
	for i, name := range []string{"finance", "hr", "ops"} {
		in, err := db.EnsureInstance(name)
		if err != nil || in.ID != uint32(i+1) || in.Name != name || in.Created.IsZero() {
			t.Errorf("EnsureInstance(%s) = %+v, %v; want ID %d", name, in, err, i+1)
		}
	}
	again, err := db.EnsureInstance("hr")
	if err != nil || again.ID != 2 {
		t.Errorf("EnsureInstance(hr) again = %+v, %v", again, err)
	}
	ins, _ := db.Instances()
	if len(ins) != 3 || ins[0].Name != "finance" || ins[2].Name != "ops" {
		t.Errorf("Instances = %+v", ins)
	}
	if _, err := db.EnsureInstance(""); err == nil {
		t.Error("EnsureInstance(\"\") succeeded")
	}
}

func TestDB_SaveToken(t *testing.T) {
	db := mustInstance(t, Options{})
	if _, ok, err := db.Token("a"); ok || err != nil {
		t.Errorf("Token before save: %v %v", ok, err)
	}
	tok := Token{AccessToken: "a1", RefreshToken: "r1", TokenType: "Bearer", Expiry: time.Now().UTC()}
	if err := db.SaveToken("a", tok); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Token("a")
	if !ok || err != nil || got.RefreshToken != "r1" || !got.Expiry.Equal(tok.Expiry) {
		t.Errorf("Token = %+v %v %v", got, ok, err)
	}
	if err := db.DeleteToken("a"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Token("a"); ok {
		t.Error("Token found after DeleteToken")
	}
	if err := db.SaveToken("zz", tok); !errors.Is(err, ErrNotFound) {
		t.Errorf("SaveToken on an unknown instance: %v", err)
	}
	if err := db.DeleteToken("zz"); err != nil {
		t.Errorf("DeleteToken on an unknown instance: %v", err)
	}
	if _, ok, err := db.Token("zz"); ok || err != nil {
		t.Errorf("Token of an unknown instance: %v %v", ok, err)
	}
}

func TestDB_UpdateState(t *testing.T) {
	db := mustInstance(t, Options{})
	if s, err := db.State("a"); err != nil || s != (State{}) {
		t.Errorf("State of a new instance = %+v, %v", s, err)
	}
	now := time.Now().UTC()
	err := db.UpdateState("a", func(s *State) error {
		*s = State{DriveID: "d", Scope: "sc", Baselined: true, NeedsLogin: true, LastPoll: now,
			LastSuccess: now, LastPollError: "pe", LastDeliveryError: "de", Resyncs: 7}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.UpdateState("a", func(s *State) error { s.Resyncs = 99; return errTest })
	if !errors.Is(err, errTest) {
		t.Errorf("UpdateState returned %v, want the callback's error", err)
	}
	s, _ := db.State("a")
	if s.Resyncs != 7 || s.DriveID != "d" || !s.Baselined || !s.NeedsLogin || !s.LastPoll.Equal(now) || s.LastDeliveryError != "de" {
		t.Errorf("State = %+v", s)
	}
	if err := db.UpdateState("zz", func(*State) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("UpdateState on an unknown instance: %v", err)
	}
	if err := db.View("zz", func(*Tx) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("View on an unknown instance: %v", err)
	}
}
