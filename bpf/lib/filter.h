/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Whether an event of the current task on a connection passes the
 * user-space filters. Cheap checks first: most syscalls of a filtered-out
 * process stop at the pid test. */
#ifndef HP_LIB_FILTER_H
#define HP_LIB_FILTER_H

/* Process-level filters, checked at syscall entry before anything is saved. */
static __always_inline bool hp_process_wanted(const struct hp_config *cfg, __u32 tgid)
{
	if (tgid == cfg->self_tgid)
		return false;
	if ((cfg->flags & HP_CONFIG_PID_ALLOW) && !bpf_map_lookup_elem(&hp_pid_allow, &tgid))
		return false;
	if (cfg->flags & HP_CONFIG_CGROUP_ALLOW) {
		__u64 cg = bpf_get_current_cgroup_id();

		if (!bpf_map_lookup_elem(&hp_cgroup_allow, &cg))
			return false;
	}
	return true;
}

static __always_inline bool hp_ports_wanted(const struct hp_config *cfg, __u16 local, __u16 remote)
{
	if (!(cfg->flags & HP_CONFIG_PORT_ALLOW))
		return true;
	return bpf_map_lookup_elem(&hp_port_allow, &local) ||
	       bpf_map_lookup_elem(&hp_port_allow, &remote);
}

#endif
