package admin

import (
	"bufio"
	"encoding/csv"
	"net/http"
	"time"

	"github.com/eventlog/eventlog"
)

// exportPage is how many events each query of an export reads: memory
// stays bounded by one page whatever the export's size.
const exportPage = 1000

// export streams every event of the request's filter, page by page
// with cursors, to write. The filter's own cursor, if any, is ignored:
// an export starts at the newest event.
func (h *Handler) export(w http.ResponseWriter, r *http.Request, contentType, ext string, write func(*bufio.Writer, eventlog.Event) error, header func(*bufio.Writer)) {
	f := parseFilter(r.URL.Query())
	f.After, f.Back = "", nil
	q, err := f.query(h.now(), exportPage)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Fetch the first page before sending headers so a failing query is
	// still an HTTP error rather than a truncated file.
	page, err := h.store.Query(r.Context(), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="events-`+h.now().UTC().Format("20060102-150405")+`.`+ext+`"`)
	w.Header().Set("Cache-Control", "no-store")
	bw := bufio.NewWriterSize(w, 64<<10)
	if header != nil {
		header(bw)
	}
	for {
		for _, e := range page.Events {
			if err := write(bw, e); err != nil {
				return
			}
		}
		if page.Next == nil {
			break
		}
		q.After = page.Next
		if page, err = h.store.Query(r.Context(), q); err != nil {
			// Headers are gone; all that is left is to stop short.
			h.log.Error("admin: export interrupted", "err", err)
			bw.Flush()
			return
		}
	}
	bw.Flush()
}

func (h *Handler) exportJSONL(w http.ResponseWriter, r *http.Request) {
	var buf []byte
	h.export(w, r, "application/x-ndjson", "jsonl", func(bw *bufio.Writer, e eventlog.Event) error {
		buf = append(e.AppendJSON(buf[:0]), '\n')
		_, err := bw.Write(buf)
		return err
	}, nil)
}

// csvHeader names the export's columns.
var csvHeader = []string{"id", "timestamp", "action", "user_id", "user_name", "object_type", "object_id", "extra"}

func (h *Handler) exportCSV(w http.ResponseWriter, r *http.Request) {
	var cw *csv.Writer
	rec := make([]string, len(csvHeader))
	h.export(w, r, "text/csv; charset=utf-8", "csv", func(bw *bufio.Writer, e eventlog.Event) error {
		rec[0], rec[1], rec[2] = e.ID, eventlog.FormatTime(e.Timestamp), e.Action
		rec[3], rec[4], rec[5], rec[6] = "", "", "", ""
		if e.User != nil {
			rec[3], rec[4] = csvSafe(e.User.ID), csvSafe(e.User.Name)
		}
		if e.Object != nil {
			rec[5], rec[6] = csvSafe(e.Object.Type), csvSafe(e.Object.ID)
		}
		rec[2] = csvSafe(e.Action)
		rec[7] = string(e.Extra)
		if err := cw.Write(rec); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	}, func(bw *bufio.Writer) {
		cw = csv.NewWriter(bw)
		cw.Write(csvHeader)
	})
}

// csvSafe defuses spreadsheet formula injection: a logged value that
// starts with =, +, - or @ would run as a formula when the CSV is opened
// in a spreadsheet, so it gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
