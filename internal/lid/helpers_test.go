package lid

import (
	"testing"

	"github.com/bayling-go/bayling/internal/testenv"
)

func sharedDir(t testing.TB) string { return testenv.Shared(t) }
