/* release.h - the release this build is: one version for all three programs, printed by
 * --version and carried in the JSON report. Bump it with a CHANGELOG entry (make install
 * and the man pages read it from here). */
#ifndef BV_CORE_RELEASE_H
#define BV_CORE_RELEASE_H

#define BV_RELEASE "0.16.0"

#endif
