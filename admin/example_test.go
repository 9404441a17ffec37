package admin_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"github.com/eventlog/eventlog/admin"
	"github.com/eventlog/eventlog/sqlitestore"
)

// An application mounts the admin under its own prefix and decides who
// may see it.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "eventlog-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := sqlitestore.Open(context.Background(), filepath.Join(dir, "events.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	h, err := admin.New(&admin.Config{
		Store:     store,
		BasePath:  "/ops/events/",
		Authorize: func(r *http.Request) bool { return r.Header.Get("X-Staff") == "yes" },
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ops/events/", h)

	for _, staff := range []string{"no", "yes"} {
		req := httptest.NewRequest("GET", "/ops/events/events", nil)
		req.Header.Set("X-Staff", staff)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Println("staff:", staff, "status:", rec.Code)
	}
	// Output:
	// staff: no status: 403
	// staff: yes status: 200
}

func ExampleHashPassword() {
	hash := admin.HashPassword("correct horse battery")
	fmt.Println(strings.HasPrefix(hash, "$argon2id$v=19$"))
	fmt.Println(admin.VerifyPassword(hash, "correct horse battery"))
	fmt.Println(admin.VerifyPassword(hash, "wrong"))
	// Output:
	// true
	// true
	// false
}
