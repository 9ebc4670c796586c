package graphtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// follow runs one delta round from url and returns the item names and the deltaLink.
func follow(url, token string) ([]string, string) {
	var names []string
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var page struct {
			Value []struct {
				Name    string          `json:"name"`
				Deleted json.RawMessage `json:"deleted"`
			} `json:"value"`
			Next  string `json:"@odata.nextLink"`
			Delta string `json:"@odata.deltaLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			panic(err)
		}
		for _, it := range page.Value {
			names = append(names, it.Name)
		}
		if page.Delta != "" {
			return names, page.Delta
		}
		url = page.Next
	}
}

func Example() {
	s := graphtest.NewServer(graphtest.Options{PageSize: 2, ExcludeAncestors: true})
	defer s.Close()
	docs := s.CreateFolder(s.Root(), "Docs")
	a := s.CreateFile(docs, "a.txt", []byte("hello"))
	token := s.IssueToken()

	names, deltaLink := follow(s.DeltaURL(), token)
	fmt.Println("initial:", names)

	s.Modify(a, []byte("hello again"))
	s.Rename(docs, "Documents")
	names, _ = follow(deltaLink, token)
	fmt.Println("changes:", len(names), "items")
	fmt.Println("delta requests:", s.Count(graphtest.ClassDelta, http.StatusOK))
	// Output:
	// initial: [root Docs a.txt]
	// changes: 2 items
	// delta requests: 3
}
