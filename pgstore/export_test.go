package pgstore

// SetTextWalkRows sets how many rows a text search in a small range walks
// before it reads the trigram index, so tests can cross that point with
// a few events.
func SetTextWalkRows(s *Store, n int) { s.textWalk = n }
