/* The two kinds of SCIM resource state.db keeps; the SCIM layer and the store both name them. */
#ifndef SYNC_STORE_RESOURCE_TYPE_H
#define SYNC_STORE_RESOURCE_TYPE_H

enum scim_resource_type { SCIM_USER, SCIM_GROUP };

#endif
