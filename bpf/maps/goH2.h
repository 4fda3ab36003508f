/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Go HTTP/2 header blocks (lib/goH2.h): the layout of each probed binary,
 * and where a header event is assembled. */
#ifndef HP_MAPS_GO_H2_H
#define HP_MAPS_GO_H2_H

/* Same index as hp_go_tls_bins: a binary's probes share one slot. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, HP_GO_TLS_MAX_BINARIES);
	__type(key, __u32);
	__type(value, struct hp_go_h2_binary);
} hp_go_h2_bins SEC(".maps");

/* A header event is 4 KiB at most: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_h2_headers_event);
} hp_h2_scratch SEC(".maps");

#endif
