package mysqlstore

// SetBulkHook makes s's BulkLoad call fn at each stage ("dropped",
// "committed") and fail there with the error fn returns.
func SetBulkHook(s *Store, fn func(stage string) error) { s.testBulkHook = fn }

// BulkIndexesKey is the eventlog_settings key of the dropped index
// definitions.
const BulkIndexesKey = bulkIndexesKey

// SetBulkRollupRows makes s's BulkLoad upsert its summed rollups every n
// rows instead of every bulkRollupRows.
func SetBulkRollupRows(s *Store, n int) { s.testRollupRows = n }
