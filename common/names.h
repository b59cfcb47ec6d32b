/*
 * names.h — short lowercase names of the ccc.v1 enum values.
 *
 * The short name of a value is its proto name without the prefix that all
 * values of the enum share, in lower case: CATEGORY_MIGRANT_SMUGGLING ->
 * "migrant_smuggling", GRADING_B2 -> "b2". CLI flags and JSON use them.
 * The *_UNSPECIFIED value (0) has no short name that parses.
 */
#ifndef CCC_NAMES_H
#define CCC_NAMES_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

/*
 * Short name of value in enum desc, or NULL when the value is not defined.
 * The string is static and lives as long as the process.
 */
const char	*names_enum_short(const ProtobufCEnumDescriptor *desc, int value);
/*
 * Parse a short name (case-insensitive) into *value. Returns false for
 * unknown names and for "unspecified".
 */
bool		 names_enum_parse(const ProtobufCEnumDescriptor *desc,
		    const char *name, int *value);
/*
 * Write the accepted short names of desc, comma-separated, into buf (for
 * error messages). Returns buf.
 */
char		*names_enum_list(const ProtobufCEnumDescriptor *desc, char *buf,
		    size_t len);

#endif
