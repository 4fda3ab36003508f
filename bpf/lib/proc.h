/* SPDX-License-Identifier: (Apache-2.0 OR GPL-2.0) */
/* Process exec and exit, so user space can attach metadata to a pid and
 * forget it when it is gone. */
#ifndef HP_LIB_PROC_H
#define HP_LIB_PROC_H

static __always_inline int hp_proc_event(__u8 kind)
{
	const struct hp_config *cfg = hp_get_config();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct hp_proc_event ev = {};

	if (!cfg || !hp_process_wanted(cfg, pid_tgid >> 32))
		return 0;
	hp_header(&ev.hdr, kind, pid_tgid);
	ev.tgid = pid_tgid >> 32;
	ev.ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev.cgroup_id = bpf_get_current_cgroup_id();
	hp_process_comm(ev.comm);
	hp_output(cfg, &ev, sizeof(ev));
	return 0;
}

#endif
