/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Runtime configuration and allow-lists, written by user space at any time
 * (struct hp_config in abi.h says what each field does). */
#ifndef HP_MAPS_CONFIG_H
#define HP_MAPS_CONFIG_H

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hp_config);
} hp_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} hp_pid_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u8);
} hp_port_allow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} hp_cgroup_allow SEC(".maps");

static __always_inline const struct hp_config *hp_get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hp_config, &zero);
}

#endif
