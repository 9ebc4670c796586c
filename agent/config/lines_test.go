package config

import "testing"

func TestKeyLines(t *testing.T) {
	src := `# comment
a = 1
s = """
multi
line"""
[t]
"quoted.key" = 'x' # c
arr = [
  1,
  { k = "v" },
]
[[instance]]
name = "x"
[instance.auth]
id = 1
[[instance]]
auth.id = 2
inline = { h = { deep = 1 } }
`
	got := keyLines(src)
	want := map[string]int{
		"a": 2, "s": 3, "t": 6, "t.quoted.key": 7, "t.arr": 8, "t.arr[0]": 9, "t.arr[1]": 10, "t.arr[1].k": 10,
		"instance[0]": 12, "instance[0].name": 13, "instance[0].auth": 14, "instance[0].auth.id": 15,
		"instance[1]": 16, "instance[1].auth": 17, "instance[1].auth.id": 17, "instance[1].inline.h.deep": 18,
	}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("line of %s = %d, want %d", k, got[k], line)
		}
	}
}
