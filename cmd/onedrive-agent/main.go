// Command onedrive-agent watches OneDrive and SharePoint drives through
// Microsoft Graph's delta API and delivers every change to a callback URL.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "version" {
		fmt.Println("onedrive-agent dev")
		return
	}
	fmt.Fprintln(os.Stderr, "usage: onedrive-agent run|demo|check|login|status|poll|resync|dead|import|install|uninstall|start|stop|restart|version")
	os.Exit(2)
}
