// Package layering holds only a test: it fails when an import crosses a
// line the design draws between the packages (see layering_test.go).
package layering
