package agent

import "testing"

func TestDeadLettersWords(t *testing.T) {
	for n, want := range map[int64]string{1: "1 dead letter", 2: "2 dead letters", 0: "0 dead letters"} {
		if got := deadLetters(n); got != want {
			t.Errorf("deadLetters(%d) = %q, want %q", n, got, want)
		}
	}
}
