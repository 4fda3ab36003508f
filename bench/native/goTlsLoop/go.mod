module hydrophone/bench/gotlsloop

go 1.21
