/* System call names the sandbox policies may use (src/shared/sandbox.ts), each with its
 * number on the architecture being built, or -1 where that architecture lacks it. */
#ifdef __NR_read
SYSCALL(read, __NR_read)
#else
SYSCALL(read, -1)
#endif
#ifdef __NR_readv
SYSCALL(readv, __NR_readv)
#else
SYSCALL(readv, -1)
#endif
#ifdef __NR_pread64
SYSCALL(pread64, __NR_pread64)
#else
SYSCALL(pread64, -1)
#endif
#ifdef __NR_write
SYSCALL(write, __NR_write)
#else
SYSCALL(write, -1)
#endif
#ifdef __NR_writev
SYSCALL(writev, __NR_writev)
#else
SYSCALL(writev, -1)
#endif
#ifdef __NR_pwrite64
SYSCALL(pwrite64, __NR_pwrite64)
#else
SYSCALL(pwrite64, -1)
#endif
#ifdef __NR_pwritev
SYSCALL(pwritev, __NR_pwritev)
#else
SYSCALL(pwritev, -1)
#endif
#ifdef __NR_pwritev2
SYSCALL(pwritev2, __NR_pwritev2)
#else
SYSCALL(pwritev2, -1)
#endif
#ifdef __NR_close
SYSCALL(close, __NR_close)
#else
SYSCALL(close, -1)
#endif
#ifdef __NR_close_range
SYSCALL(close_range, __NR_close_range)
#else
SYSCALL(close_range, -1)
#endif
#ifdef __NR_lseek
SYSCALL(lseek, __NR_lseek)
#else
SYSCALL(lseek, -1)
#endif
#ifdef __NR_recvmmsg
SYSCALL(recvmmsg, __NR_recvmmsg)
#else
SYSCALL(recvmmsg, -1)
#endif
#ifdef __NR_recvmsg
SYSCALL(recvmsg, __NR_recvmsg)
#else
SYSCALL(recvmsg, -1)
#endif
#ifdef __NR_recvfrom
SYSCALL(recvfrom, __NR_recvfrom)
#else
SYSCALL(recvfrom, -1)
#endif
#ifdef __NR_sendto
SYSCALL(sendto, __NR_sendto)
#else
SYSCALL(sendto, -1)
#endif
#ifdef __NR_sendmsg
SYSCALL(sendmsg, __NR_sendmsg)
#else
SYSCALL(sendmsg, -1)
#endif
#ifdef __NR_sendmmsg
SYSCALL(sendmmsg, __NR_sendmmsg)
#else
SYSCALL(sendmmsg, -1)
#endif
#ifdef __NR_socket
SYSCALL(socket, __NR_socket)
#else
SYSCALL(socket, -1)
#endif
#ifdef __NR_socketpair
SYSCALL(socketpair, __NR_socketpair)
#else
SYSCALL(socketpair, -1)
#endif
#ifdef __NR_connect
SYSCALL(connect, __NR_connect)
#else
SYSCALL(connect, -1)
#endif
#ifdef __NR_bind
SYSCALL(bind, __NR_bind)
#else
SYSCALL(bind, -1)
#endif
#ifdef __NR_listen
SYSCALL(listen, __NR_listen)
#else
SYSCALL(listen, -1)
#endif
#ifdef __NR_accept
SYSCALL(accept, __NR_accept)
#else
SYSCALL(accept, -1)
#endif
#ifdef __NR_accept4
SYSCALL(accept4, __NR_accept4)
#else
SYSCALL(accept4, -1)
#endif
#ifdef __NR_shutdown
SYSCALL(shutdown, __NR_shutdown)
#else
SYSCALL(shutdown, -1)
#endif
#ifdef __NR_getsockopt
SYSCALL(getsockopt, __NR_getsockopt)
#else
SYSCALL(getsockopt, -1)
#endif
#ifdef __NR_setsockopt
SYSCALL(setsockopt, __NR_setsockopt)
#else
SYSCALL(setsockopt, -1)
#endif
#ifdef __NR_getsockname
SYSCALL(getsockname, __NR_getsockname)
#else
SYSCALL(getsockname, -1)
#endif
#ifdef __NR_getpeername
SYSCALL(getpeername, __NR_getpeername)
#else
SYSCALL(getpeername, -1)
#endif
#ifdef __NR_poll
SYSCALL(poll, __NR_poll)
#else
SYSCALL(poll, -1)
#endif
#ifdef __NR_ppoll
SYSCALL(ppoll, __NR_ppoll)
#else
SYSCALL(ppoll, -1)
#endif
#ifdef __NR_select
SYSCALL(select, __NR_select)
#else
SYSCALL(select, -1)
#endif
#ifdef __NR_pselect6
SYSCALL(pselect6, __NR_pselect6)
#else
SYSCALL(pselect6, -1)
#endif
#ifdef __NR_epoll_create1
SYSCALL(epoll_create1, __NR_epoll_create1)
#else
SYSCALL(epoll_create1, -1)
#endif
#ifdef __NR_epoll_ctl
SYSCALL(epoll_ctl, __NR_epoll_ctl)
#else
SYSCALL(epoll_ctl, -1)
#endif
#ifdef __NR_epoll_wait
SYSCALL(epoll_wait, __NR_epoll_wait)
#else
SYSCALL(epoll_wait, -1)
#endif
#ifdef __NR_epoll_pwait
SYSCALL(epoll_pwait, __NR_epoll_pwait)
#else
SYSCALL(epoll_pwait, -1)
#endif
#ifdef __NR_epoll_pwait2
SYSCALL(epoll_pwait2, __NR_epoll_pwait2)
#else
SYSCALL(epoll_pwait2, -1)
#endif
#ifdef __NR_eventfd2
SYSCALL(eventfd2, __NR_eventfd2)
#else
SYSCALL(eventfd2, -1)
#endif
#ifdef __NR_pipe2
SYSCALL(pipe2, __NR_pipe2)
#else
SYSCALL(pipe2, -1)
#endif
#ifdef __NR_futex
SYSCALL(futex, __NR_futex)
#else
SYSCALL(futex, -1)
#endif
#ifdef __NR_futex_waitv
SYSCALL(futex_waitv, __NR_futex_waitv)
#else
SYSCALL(futex_waitv, -1)
#endif
#ifdef __NR_set_robust_list
SYSCALL(set_robust_list, __NR_set_robust_list)
#else
SYSCALL(set_robust_list, -1)
#endif
#ifdef __NR_get_robust_list
SYSCALL(get_robust_list, __NR_get_robust_list)
#else
SYSCALL(get_robust_list, -1)
#endif
#ifdef __NR_rseq
SYSCALL(rseq, __NR_rseq)
#else
SYSCALL(rseq, -1)
#endif
#ifdef __NR_clone
SYSCALL(clone, __NR_clone)
#else
SYSCALL(clone, -1)
#endif
#ifdef __NR_clone3
SYSCALL(clone3, __NR_clone3)
#else
SYSCALL(clone3, -1)
#endif
#ifdef __NR_fork
SYSCALL(fork, __NR_fork)
#else
SYSCALL(fork, -1)
#endif
#ifdef __NR_vfork
SYSCALL(vfork, __NR_vfork)
#else
SYSCALL(vfork, -1)
#endif
#ifdef __NR_exit
SYSCALL(exit, __NR_exit)
#else
SYSCALL(exit, -1)
#endif
#ifdef __NR_exit_group
SYSCALL(exit_group, __NR_exit_group)
#else
SYSCALL(exit_group, -1)
#endif
#ifdef __NR_wait4
SYSCALL(wait4, __NR_wait4)
#else
SYSCALL(wait4, -1)
#endif
#ifdef __NR_waitid
SYSCALL(waitid, __NR_waitid)
#else
SYSCALL(waitid, -1)
#endif
#ifdef __NR_mmap
SYSCALL(mmap, __NR_mmap)
#else
SYSCALL(mmap, -1)
#endif
#ifdef __NR_munmap
SYSCALL(munmap, __NR_munmap)
#else
SYSCALL(munmap, -1)
#endif
#ifdef __NR_mremap
SYSCALL(mremap, __NR_mremap)
#else
SYSCALL(mremap, -1)
#endif
#ifdef __NR_mprotect
SYSCALL(mprotect, __NR_mprotect)
#else
SYSCALL(mprotect, -1)
#endif
#ifdef __NR_madvise
SYSCALL(madvise, __NR_madvise)
#else
SYSCALL(madvise, -1)
#endif
#ifdef __NR_brk
SYSCALL(brk, __NR_brk)
#else
SYSCALL(brk, -1)
#endif
#ifdef __NR_mincore
SYSCALL(mincore, __NR_mincore)
#else
SYSCALL(mincore, -1)
#endif
#ifdef __NR_membarrier
SYSCALL(membarrier, __NR_membarrier)
#else
SYSCALL(membarrier, -1)
#endif
#ifdef __NR_pkey_alloc
SYSCALL(pkey_alloc, __NR_pkey_alloc)
#else
SYSCALL(pkey_alloc, -1)
#endif
#ifdef __NR_pkey_free
SYSCALL(pkey_free, __NR_pkey_free)
#else
SYSCALL(pkey_free, -1)
#endif
#ifdef __NR_pkey_mprotect
SYSCALL(pkey_mprotect, __NR_pkey_mprotect)
#else
SYSCALL(pkey_mprotect, -1)
#endif
#ifdef __NR_mlock
SYSCALL(mlock, __NR_mlock)
#else
SYSCALL(mlock, -1)
#endif
#ifdef __NR_munlock
SYSCALL(munlock, __NR_munlock)
#else
SYSCALL(munlock, -1)
#endif
#ifdef __NR_rt_sigaction
SYSCALL(rt_sigaction, __NR_rt_sigaction)
#else
SYSCALL(rt_sigaction, -1)
#endif
#ifdef __NR_rt_sigprocmask
SYSCALL(rt_sigprocmask, __NR_rt_sigprocmask)
#else
SYSCALL(rt_sigprocmask, -1)
#endif
#ifdef __NR_rt_sigreturn
SYSCALL(rt_sigreturn, __NR_rt_sigreturn)
#else
SYSCALL(rt_sigreturn, -1)
#endif
#ifdef __NR_rt_sigtimedwait
SYSCALL(rt_sigtimedwait, __NR_rt_sigtimedwait)
#else
SYSCALL(rt_sigtimedwait, -1)
#endif
#ifdef __NR_rt_sigsuspend
SYSCALL(rt_sigsuspend, __NR_rt_sigsuspend)
#else
SYSCALL(rt_sigsuspend, -1)
#endif
#ifdef __NR_sigaltstack
SYSCALL(sigaltstack, __NR_sigaltstack)
#else
SYSCALL(sigaltstack, -1)
#endif
#ifdef __NR_kill
SYSCALL(kill, __NR_kill)
#else
SYSCALL(kill, -1)
#endif
#ifdef __NR_tgkill
SYSCALL(tgkill, __NR_tgkill)
#else
SYSCALL(tgkill, -1)
#endif
#ifdef __NR_tkill
SYSCALL(tkill, __NR_tkill)
#else
SYSCALL(tkill, -1)
#endif
#ifdef __NR_rt_sigqueueinfo
SYSCALL(rt_sigqueueinfo, __NR_rt_sigqueueinfo)
#else
SYSCALL(rt_sigqueueinfo, -1)
#endif
#ifdef __NR_rt_tgsigqueueinfo
SYSCALL(rt_tgsigqueueinfo, __NR_rt_tgsigqueueinfo)
#else
SYSCALL(rt_tgsigqueueinfo, -1)
#endif
#ifdef __NR_getpid
SYSCALL(getpid, __NR_getpid)
#else
SYSCALL(getpid, -1)
#endif
#ifdef __NR_gettid
SYSCALL(gettid, __NR_gettid)
#else
SYSCALL(gettid, -1)
#endif
#ifdef __NR_getppid
SYSCALL(getppid, __NR_getppid)
#else
SYSCALL(getppid, -1)
#endif
#ifdef __NR_getuid
SYSCALL(getuid, __NR_getuid)
#else
SYSCALL(getuid, -1)
#endif
#ifdef __NR_geteuid
SYSCALL(geteuid, __NR_geteuid)
#else
SYSCALL(geteuid, -1)
#endif
#ifdef __NR_getgid
SYSCALL(getgid, __NR_getgid)
#else
SYSCALL(getgid, -1)
#endif
#ifdef __NR_getegid
SYSCALL(getegid, __NR_getegid)
#else
SYSCALL(getegid, -1)
#endif
#ifdef __NR_getgroups
SYSCALL(getgroups, __NR_getgroups)
#else
SYSCALL(getgroups, -1)
#endif
#ifdef __NR_getresuid
SYSCALL(getresuid, __NR_getresuid)
#else
SYSCALL(getresuid, -1)
#endif
#ifdef __NR_getresgid
SYSCALL(getresgid, __NR_getresgid)
#else
SYSCALL(getresgid, -1)
#endif
#ifdef __NR_clock_gettime
SYSCALL(clock_gettime, __NR_clock_gettime)
#else
SYSCALL(clock_gettime, -1)
#endif
#ifdef __NR_clock_getres
SYSCALL(clock_getres, __NR_clock_getres)
#else
SYSCALL(clock_getres, -1)
#endif
#ifdef __NR_clock_nanosleep
SYSCALL(clock_nanosleep, __NR_clock_nanosleep)
#else
SYSCALL(clock_nanosleep, -1)
#endif
#ifdef __NR_nanosleep
SYSCALL(nanosleep, __NR_nanosleep)
#else
SYSCALL(nanosleep, -1)
#endif
#ifdef __NR_gettimeofday
SYSCALL(gettimeofday, __NR_gettimeofday)
#else
SYSCALL(gettimeofday, -1)
#endif
#ifdef __NR_time
SYSCALL(time, __NR_time)
#else
SYSCALL(time, -1)
#endif
#ifdef __NR_sched_yield
SYSCALL(sched_yield, __NR_sched_yield)
#else
SYSCALL(sched_yield, -1)
#endif
#ifdef __NR_sched_getaffinity
SYSCALL(sched_getaffinity, __NR_sched_getaffinity)
#else
SYSCALL(sched_getaffinity, -1)
#endif
#ifdef __NR_sched_getparam
SYSCALL(sched_getparam, __NR_sched_getparam)
#else
SYSCALL(sched_getparam, -1)
#endif
#ifdef __NR_sched_getscheduler
SYSCALL(sched_getscheduler, __NR_sched_getscheduler)
#else
SYSCALL(sched_getscheduler, -1)
#endif
#ifdef __NR_getcpu
SYSCALL(getcpu, __NR_getcpu)
#else
SYSCALL(getcpu, -1)
#endif
#ifdef __NR_getrandom
SYSCALL(getrandom, __NR_getrandom)
#else
SYSCALL(getrandom, -1)
#endif
#ifdef __NR_uname
SYSCALL(uname, __NR_uname)
#else
SYSCALL(uname, -1)
#endif
#ifdef __NR_sysinfo
SYSCALL(sysinfo, __NR_sysinfo)
#else
SYSCALL(sysinfo, -1)
#endif
#ifdef __NR_getrusage
SYSCALL(getrusage, __NR_getrusage)
#else
SYSCALL(getrusage, -1)
#endif
#ifdef __NR_prlimit64
SYSCALL(prlimit64, __NR_prlimit64)
#else
SYSCALL(prlimit64, -1)
#endif
#ifdef __NR_getcwd
SYSCALL(getcwd, __NR_getcwd)
#else
SYSCALL(getcwd, -1)
#endif
#ifdef __NR_fcntl
SYSCALL(fcntl, __NR_fcntl)
#else
SYSCALL(fcntl, -1)
#endif
#ifdef __NR_dup
SYSCALL(dup, __NR_dup)
#else
SYSCALL(dup, -1)
#endif
#ifdef __NR_dup2
SYSCALL(dup2, __NR_dup2)
#else
SYSCALL(dup2, -1)
#endif
#ifdef __NR_dup3
SYSCALL(dup3, __NR_dup3)
#else
SYSCALL(dup3, -1)
#endif
#ifdef __NR_ioctl
SYSCALL(ioctl, __NR_ioctl)
#else
SYSCALL(ioctl, -1)
#endif
#ifdef __NR_fstat
SYSCALL(fstat, __NR_fstat)
#else
SYSCALL(fstat, -1)
#endif
#ifdef __NR_newfstatat
SYSCALL(newfstatat, __NR_newfstatat)
#else
SYSCALL(newfstatat, -1)
#endif
#ifdef __NR_statx
SYSCALL(statx, __NR_statx)
#else
SYSCALL(statx, -1)
#endif
#ifdef __NR_stat
SYSCALL(stat, __NR_stat)
#else
SYSCALL(stat, -1)
#endif
#ifdef __NR_lstat
SYSCALL(lstat, __NR_lstat)
#else
SYSCALL(lstat, -1)
#endif
#ifdef __NR_readlink
SYSCALL(readlink, __NR_readlink)
#else
SYSCALL(readlink, -1)
#endif
#ifdef __NR_readlinkat
SYSCALL(readlinkat, __NR_readlinkat)
#else
SYSCALL(readlinkat, -1)
#endif
#ifdef __NR_access
SYSCALL(access, __NR_access)
#else
SYSCALL(access, -1)
#endif
#ifdef __NR_faccessat
SYSCALL(faccessat, __NR_faccessat)
#else
SYSCALL(faccessat, -1)
#endif
#ifdef __NR_faccessat2
SYSCALL(faccessat2, __NR_faccessat2)
#else
SYSCALL(faccessat2, -1)
#endif
#ifdef __NR_open
SYSCALL(open, __NR_open)
#else
SYSCALL(open, -1)
#endif
#ifdef __NR_openat
SYSCALL(openat, __NR_openat)
#else
SYSCALL(openat, -1)
#endif
#ifdef __NR_openat2
SYSCALL(openat2, __NR_openat2)
#else
SYSCALL(openat2, -1)
#endif
#ifdef __NR_creat
SYSCALL(creat, __NR_creat)
#else
SYSCALL(creat, -1)
#endif
#ifdef __NR_unlink
SYSCALL(unlink, __NR_unlink)
#else
SYSCALL(unlink, -1)
#endif
#ifdef __NR_unlinkat
SYSCALL(unlinkat, __NR_unlinkat)
#else
SYSCALL(unlinkat, -1)
#endif
#ifdef __NR_rename
SYSCALL(rename, __NR_rename)
#else
SYSCALL(rename, -1)
#endif
#ifdef __NR_renameat
SYSCALL(renameat, __NR_renameat)
#else
SYSCALL(renameat, -1)
#endif
#ifdef __NR_renameat2
SYSCALL(renameat2, __NR_renameat2)
#else
SYSCALL(renameat2, -1)
#endif
#ifdef __NR_mkdir
SYSCALL(mkdir, __NR_mkdir)
#else
SYSCALL(mkdir, -1)
#endif
#ifdef __NR_mkdirat
SYSCALL(mkdirat, __NR_mkdirat)
#else
SYSCALL(mkdirat, -1)
#endif
#ifdef __NR_rmdir
SYSCALL(rmdir, __NR_rmdir)
#else
SYSCALL(rmdir, -1)
#endif
#ifdef __NR_link
SYSCALL(link, __NR_link)
#else
SYSCALL(link, -1)
#endif
#ifdef __NR_linkat
SYSCALL(linkat, __NR_linkat)
#else
SYSCALL(linkat, -1)
#endif
#ifdef __NR_symlink
SYSCALL(symlink, __NR_symlink)
#else
SYSCALL(symlink, -1)
#endif
#ifdef __NR_symlinkat
SYSCALL(symlinkat, __NR_symlinkat)
#else
SYSCALL(symlinkat, -1)
#endif
#ifdef __NR_chmod
SYSCALL(chmod, __NR_chmod)
#else
SYSCALL(chmod, -1)
#endif
#ifdef __NR_fchmod
SYSCALL(fchmod, __NR_fchmod)
#else
SYSCALL(fchmod, -1)
#endif
#ifdef __NR_fchmodat
SYSCALL(fchmodat, __NR_fchmodat)
#else
SYSCALL(fchmodat, -1)
#endif
#ifdef __NR_chown
SYSCALL(chown, __NR_chown)
#else
SYSCALL(chown, -1)
#endif
#ifdef __NR_fchown
SYSCALL(fchown, __NR_fchown)
#else
SYSCALL(fchown, -1)
#endif
#ifdef __NR_fchownat
SYSCALL(fchownat, __NR_fchownat)
#else
SYSCALL(fchownat, -1)
#endif
#ifdef __NR_lchown
SYSCALL(lchown, __NR_lchown)
#else
SYSCALL(lchown, -1)
#endif
#ifdef __NR_truncate
SYSCALL(truncate, __NR_truncate)
#else
SYSCALL(truncate, -1)
#endif
#ifdef __NR_ftruncate
SYSCALL(ftruncate, __NR_ftruncate)
#else
SYSCALL(ftruncate, -1)
#endif
#ifdef __NR_fsync
SYSCALL(fsync, __NR_fsync)
#else
SYSCALL(fsync, -1)
#endif
#ifdef __NR_fdatasync
SYSCALL(fdatasync, __NR_fdatasync)
#else
SYSCALL(fdatasync, -1)
#endif
#ifdef __NR_prctl
SYSCALL(prctl, __NR_prctl)
#else
SYSCALL(prctl, -1)
#endif
#ifdef __NR_arch_prctl
SYSCALL(arch_prctl, __NR_arch_prctl)
#else
SYSCALL(arch_prctl, -1)
#endif
#ifdef __NR_seccomp
SYSCALL(seccomp, __NR_seccomp)
#else
SYSCALL(seccomp, -1)
#endif
#ifdef __NR_landlock_create_ruleset
SYSCALL(landlock_create_ruleset, __NR_landlock_create_ruleset)
#else
SYSCALL(landlock_create_ruleset, -1)
#endif
#ifdef __NR_landlock_add_rule
SYSCALL(landlock_add_rule, __NR_landlock_add_rule)
#else
SYSCALL(landlock_add_rule, -1)
#endif
#ifdef __NR_landlock_restrict_self
SYSCALL(landlock_restrict_self, __NR_landlock_restrict_self)
#else
SYSCALL(landlock_restrict_self, -1)
#endif
#ifdef __NR_ptrace
SYSCALL(ptrace, __NR_ptrace)
#else
SYSCALL(ptrace, -1)
#endif
#ifdef __NR_process_vm_readv
SYSCALL(process_vm_readv, __NR_process_vm_readv)
#else
SYSCALL(process_vm_readv, -1)
#endif
#ifdef __NR_process_vm_writev
SYSCALL(process_vm_writev, __NR_process_vm_writev)
#else
SYSCALL(process_vm_writev, -1)
#endif
#ifdef __NR_pidfd_open
SYSCALL(pidfd_open, __NR_pidfd_open)
#else
SYSCALL(pidfd_open, -1)
#endif
#ifdef __NR_pidfd_getfd
SYSCALL(pidfd_getfd, __NR_pidfd_getfd)
#else
SYSCALL(pidfd_getfd, -1)
#endif
#ifdef __NR_pidfd_send_signal
SYSCALL(pidfd_send_signal, __NR_pidfd_send_signal)
#else
SYSCALL(pidfd_send_signal, -1)
#endif
#ifdef __NR_kcmp
SYSCALL(kcmp, __NR_kcmp)
#else
SYSCALL(kcmp, -1)
#endif
#ifdef __NR_execve
SYSCALL(execve, __NR_execve)
#else
SYSCALL(execve, -1)
#endif
#ifdef __NR_execveat
SYSCALL(execveat, __NR_execveat)
#else
SYSCALL(execveat, -1)
#endif
#ifdef __NR_mount
SYSCALL(mount, __NR_mount)
#else
SYSCALL(mount, -1)
#endif
#ifdef __NR_umount2
SYSCALL(umount2, __NR_umount2)
#else
SYSCALL(umount2, -1)
#endif
#ifdef __NR_move_mount
SYSCALL(move_mount, __NR_move_mount)
#else
SYSCALL(move_mount, -1)
#endif
#ifdef __NR_fsopen
SYSCALL(fsopen, __NR_fsopen)
#else
SYSCALL(fsopen, -1)
#endif
#ifdef __NR_fsmount
SYSCALL(fsmount, __NR_fsmount)
#else
SYSCALL(fsmount, -1)
#endif
#ifdef __NR_fsconfig
SYSCALL(fsconfig, __NR_fsconfig)
#else
SYSCALL(fsconfig, -1)
#endif
#ifdef __NR_open_tree
SYSCALL(open_tree, __NR_open_tree)
#else
SYSCALL(open_tree, -1)
#endif
#ifdef __NR_pivot_root
SYSCALL(pivot_root, __NR_pivot_root)
#else
SYSCALL(pivot_root, -1)
#endif
#ifdef __NR_chroot
SYSCALL(chroot, __NR_chroot)
#else
SYSCALL(chroot, -1)
#endif
#ifdef __NR_unshare
SYSCALL(unshare, __NR_unshare)
#else
SYSCALL(unshare, -1)
#endif
#ifdef __NR_setns
SYSCALL(setns, __NR_setns)
#else
SYSCALL(setns, -1)
#endif
#ifdef __NR_setuid
SYSCALL(setuid, __NR_setuid)
#else
SYSCALL(setuid, -1)
#endif
#ifdef __NR_setgid
SYSCALL(setgid, __NR_setgid)
#else
SYSCALL(setgid, -1)
#endif
#ifdef __NR_setreuid
SYSCALL(setreuid, __NR_setreuid)
#else
SYSCALL(setreuid, -1)
#endif
#ifdef __NR_setregid
SYSCALL(setregid, __NR_setregid)
#else
SYSCALL(setregid, -1)
#endif
#ifdef __NR_setresuid
SYSCALL(setresuid, __NR_setresuid)
#else
SYSCALL(setresuid, -1)
#endif
#ifdef __NR_setresgid
SYSCALL(setresgid, __NR_setresgid)
#else
SYSCALL(setresgid, -1)
#endif
#ifdef __NR_setgroups
SYSCALL(setgroups, __NR_setgroups)
#else
SYSCALL(setgroups, -1)
#endif
#ifdef __NR_setfsuid
SYSCALL(setfsuid, __NR_setfsuid)
#else
SYSCALL(setfsuid, -1)
#endif
#ifdef __NR_setfsgid
SYSCALL(setfsgid, __NR_setfsgid)
#else
SYSCALL(setfsgid, -1)
#endif
#ifdef __NR_capset
SYSCALL(capset, __NR_capset)
#else
SYSCALL(capset, -1)
#endif
#ifdef __NR_bpf
SYSCALL(bpf, __NR_bpf)
#else
SYSCALL(bpf, -1)
#endif
#ifdef __NR_perf_event_open
SYSCALL(perf_event_open, __NR_perf_event_open)
#else
SYSCALL(perf_event_open, -1)
#endif
#ifdef __NR_kexec_load
SYSCALL(kexec_load, __NR_kexec_load)
#else
SYSCALL(kexec_load, -1)
#endif
#ifdef __NR_kexec_file_load
SYSCALL(kexec_file_load, __NR_kexec_file_load)
#else
SYSCALL(kexec_file_load, -1)
#endif
#ifdef __NR_init_module
SYSCALL(init_module, __NR_init_module)
#else
SYSCALL(init_module, -1)
#endif
#ifdef __NR_finit_module
SYSCALL(finit_module, __NR_finit_module)
#else
SYSCALL(finit_module, -1)
#endif
#ifdef __NR_delete_module
SYSCALL(delete_module, __NR_delete_module)
#else
SYSCALL(delete_module, -1)
#endif
#ifdef __NR_keyctl
SYSCALL(keyctl, __NR_keyctl)
#else
SYSCALL(keyctl, -1)
#endif
#ifdef __NR_add_key
SYSCALL(add_key, __NR_add_key)
#else
SYSCALL(add_key, -1)
#endif
#ifdef __NR_request_key
SYSCALL(request_key, __NR_request_key)
#else
SYSCALL(request_key, -1)
#endif
#ifdef __NR_userfaultfd
SYSCALL(userfaultfd, __NR_userfaultfd)
#else
SYSCALL(userfaultfd, -1)
#endif
#ifdef __NR_io_uring_setup
SYSCALL(io_uring_setup, __NR_io_uring_setup)
#else
SYSCALL(io_uring_setup, -1)
#endif
#ifdef __NR_io_uring_enter
SYSCALL(io_uring_enter, __NR_io_uring_enter)
#else
SYSCALL(io_uring_enter, -1)
#endif
#ifdef __NR_io_uring_register
SYSCALL(io_uring_register, __NR_io_uring_register)
#else
SYSCALL(io_uring_register, -1)
#endif
#ifdef __NR_splice
SYSCALL(splice, __NR_splice)
#else
SYSCALL(splice, -1)
#endif
#ifdef __NR_tee
SYSCALL(tee, __NR_tee)
#else
SYSCALL(tee, -1)
#endif
#ifdef __NR_vmsplice
SYSCALL(vmsplice, __NR_vmsplice)
#else
SYSCALL(vmsplice, -1)
#endif
#ifdef __NR_sendfile
SYSCALL(sendfile, __NR_sendfile)
#else
SYSCALL(sendfile, -1)
#endif
#ifdef __NR_copy_file_range
SYSCALL(copy_file_range, __NR_copy_file_range)
#else
SYSCALL(copy_file_range, -1)
#endif
#ifdef __NR_memfd_create
SYSCALL(memfd_create, __NR_memfd_create)
#else
SYSCALL(memfd_create, -1)
#endif
#ifdef __NR_personality
SYSCALL(personality, __NR_personality)
#else
SYSCALL(personality, -1)
#endif
#ifdef __NR_reboot
SYSCALL(reboot, __NR_reboot)
#else
SYSCALL(reboot, -1)
#endif
#ifdef __NR_swapon
SYSCALL(swapon, __NR_swapon)
#else
SYSCALL(swapon, -1)
#endif
#ifdef __NR_swapoff
SYSCALL(swapoff, __NR_swapoff)
#else
SYSCALL(swapoff, -1)
#endif
#ifdef __NR_restart_syscall
SYSCALL(restart_syscall, __NR_restart_syscall)
#else
SYSCALL(restart_syscall, -1)
#endif
