package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// readJSONFile decodes a JSON file, naming it in errors.
func readJSONFile(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
