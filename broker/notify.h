/*
 * notify.h — readiness and state for the service manager (systemd's notify
 * protocol, Type=notify): READY=1 once the broker serves, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 at shutdown.
 */
#ifndef CCC_NOTIFY_H
#define CCC_NOTIFY_H

/*
 * Send state ("READY=1", newline-separated assignments) to the socket that
 * NOTIFY_SOCKET names, if it names one. Returns 1 when sent, 0 when there
 * is no NOTIFY_SOCKET, -1 when the send failed (logged; the broker goes on).
 */
int	notify_send(const char *state);

#endif
