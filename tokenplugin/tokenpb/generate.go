// Package tokenpb is the generated gRPC code for tokenservice.proto.
package tokenpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative tokenservice.proto
