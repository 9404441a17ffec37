package mysqlstore

// SetBulkHook makes s's BulkLoad call fn at each stage ("dropped",
// "committed") and fail there with the error fn returns.
func SetBulkHook(s *Store, fn func(stage string) error) { s.testBulkHook = fn }

// BulkIndexesKey is the eventlog_settings key of the dropped index
// definitions.
const BulkIndexesKey = bulkIndexesKey
