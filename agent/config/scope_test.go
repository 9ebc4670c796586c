package config

import "testing"

func TestScope_Match(t *testing.T) {
	tests := []struct {
		name  string
		scope Scope
		path  string
		want  bool
	}{
		{"whole drive", Scope{}, "/a/b.txt", true},
		{"root folder", Scope{Folder: "/"}, "/a", true},
		{"under folder", Scope{Folder: "/Finance"}, "/Finance/a.pdf", true},
		{"deep under folder", Scope{Folder: "/Finance"}, "/Finance/2026/q1/a.pdf", true},
		{"the folder itself", Scope{Folder: "/Finance"}, "/Finance", true},
		{"sibling with the same prefix", Scope{Folder: "/Finance"}, "/Finance2/a.pdf", false},
		{"outside folder", Scope{Folder: "/Finance"}, "/HR/a.pdf", false},
		{"folder trailing slash", Scope{Folder: "/Finance/"}, "/Finance/a", true},
		{"folder case", Scope{Folder: "/finance"}, "/Finance/a", true},
		{"name pattern any depth", Scope{Include: []string{"*.pdf"}}, "/a/b/c.pdf", true},
		{"name pattern root", Scope{Include: []string{"*.pdf"}}, "/c.pdf", true},
		{"name pattern miss", Scope{Include: []string{"*.pdf"}}, "/a/c.docx", false},
		{"name pattern case", Scope{Include: []string{"*.PDF"}}, "/a/c.pdf", true},
		{"anchored star one segment", Scope{Include: []string{"/Invoices/*.pdf"}}, "/Invoices/a.pdf", true},
		{"anchored star not across", Scope{Include: []string{"/Invoices/*.pdf"}}, "/Invoices/2026/a.pdf", false},
		{"anchored without leading slash", Scope{Include: []string{"Invoices/*.pdf"}}, "/Invoices/a.pdf", true},
		{"anchored not at depth", Scope{Include: []string{"Invoices/*.pdf"}}, "/x/Invoices/a.pdf", false},
		{"double star below", Scope{Include: []string{"/Invoices/**"}}, "/Invoices/2026/q1/a.pdf", true},
		{"double star not the folder", Scope{Include: []string{"/Invoices/**"}}, "/Invoices", false},
		{"double star prefix", Scope{Include: []string{"**/reports/*.xlsx"}}, "/a/b/reports/x.xlsx", true},
		{"double star prefix zero", Scope{Include: []string{"**/reports/*.xlsx"}}, "/reports/x.xlsx", true},
		{"double star middle", Scope{Include: []string{"/a/**/z.txt"}}, "/a/b/c/z.txt", true},
		{"double star middle zero", Scope{Include: []string{"/a/**/z.txt"}}, "/a/z.txt", true},
		{"question mark", Scope{Include: []string{"report-?.csv"}}, "/report-1.csv", true},
		{"question mark one char", Scope{Include: []string{"report-?.csv"}}, "/report-10.csv", false},
		{"class", Scope{Include: []string{"[ab]*.txt"}}, "/x/b1.txt", true},
		{"negated class", Scope{Include: []string{"[!ab]*.txt"}}, "/x/b1.txt", false},
		{"negated class caret", Scope{Include: []string{"[^ab]*.txt"}}, "/x/c1.txt", true},
		{"include matches folder content", Scope{Include: []string{"Invoices"}}, "/x/Invoices/a/b.pdf", true},
		{"exclude office lock files", Scope{Exclude: []string{"**/~$*"}}, "/Docs/~$report.docx", false},
		{"exclude office lock at root", Scope{Exclude: []string{"**/~$*"}}, "/~$a.docx", false},
		{"exclude keeps others", Scope{Exclude: []string{"**/~$*"}}, "/Docs/report.docx", true},
		{"exclude folder drops content", Scope{Exclude: []string{"tmp"}}, "/a/tmp/b/c.txt", false},
		{"exclude folder trailing slash", Scope{Exclude: []string{"tmp/"}}, "/a/tmp/c.txt", false},
		{"exclude wins over include", Scope{Include: []string{"*.pdf"}, Exclude: []string{"/Drafts/**"}}, "/Drafts/a.pdf", false},
		{"include and folder", Scope{Folder: "/Finance", Include: []string{"*.pdf"}}, "/HR/a.pdf", false},
		{"any include", Scope{Include: []string{"*.pdf", "*.xlsx"}}, "/a.xlsx", true},
		{"invalid pattern matches nothing", Scope{Include: []string{"[a"}}, "/a", false},
		{"escaped star", Scope{Include: []string{`a\*b`}}, "/a*b", true},
		{"escaped star literal only", Scope{Include: []string{`a\*b`}}, "/axb", false},
		{"path without leading slash", Scope{Folder: "/Finance"}, "Finance/a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.scope.Match(tt.path); got != tt.want {
				t.Errorf("%+v.Match(%q) = %v, want %v", tt.scope, tt.path, got, tt.want)
			}
		})
	}
}

func TestValidPattern(t *testing.T) {
	for _, p := range []string{"*.pdf", "/Invoices/**", "**/~$*", "[a-z]?", "tmp/", `a\*`} {
		if err := ValidPattern(p); err != nil {
			t.Errorf("ValidPattern(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "/", "a//b", "[a", `a\`, "[]a]x[", "x/[z"} {
		if err := ValidPattern(p); err == nil {
			t.Errorf("ValidPattern(%q) accepted", p)
		}
	}
}
