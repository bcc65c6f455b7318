// The API of the capture process's account lookup and chroot (native/privdrop.c, built
// into build/Release/privdrop.node); src/capture/privdrop.ts is the one place that loads it.

/** One /etc/passwd entry (or its NSS equivalent), as getpwnam_r(3) gives it. */
export interface Passwd {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface PrivDrop {
  /** The account `name`, or null if there is no such user; throws strerror's words if the lookup itself failed. */
  getpwnam(name: string): Passwd | null;
  /** chroot(2); throws strerror's words, with the number in `errno`. */
  chroot(path: string): void;
  /** flock(fd, LOCK_EX | LOCK_NB): true when taken, false when another open file holds it. */
  lockFile(fd: number): boolean;
  /** What the entry `name` of the directory open at `dirFd` is: the file open at `fd`, another file, or nothing (fstatat(2), no link followed). */
  entryOf(dirFd: number, name: string, fd: number): 'held' | 'replaced' | 'absent';
  /** unlinkat(dirFd, name, 0): true when removed, false when already gone; throws strerror's words otherwise. */
  unlinkAt(dirFd: number, name: string): boolean;
}
