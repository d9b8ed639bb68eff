module ringwasm.test/goguest

// GOOS=wasip1 came in Go 1.21, math/rand/v2 in 1.22.
go 1.22
