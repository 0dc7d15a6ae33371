/* libcrypto, loaded on first use. Its relocation costs ~1 ms of CPU in every process that
 * loads pam_entra.so; only a sign-in (JWT signature, cache file names) needs it, so local
 * users and root never pay for it. */
#ifndef PE_CRYPTO_LIB_H
#define PE_CRYPTO_LIB_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stddef.h>

#define PE_CRYPTO_FUNCTIONS(X)                                                                                         \
	X(BN_bin2bn)                                                                                                   \
	X(BN_free)                                                                                                     \
	X(BN_is_odd)                                                                                                   \
	X(BN_num_bits)                                                                                                 \
	X(EVP_Digest)                                                                                                  \
	X(EVP_DigestVerify)                                                                                            \
	X(EVP_DigestVerifyInit)                                                                                        \
	X(EVP_MD_CTX_free)                                                                                             \
	X(EVP_MD_CTX_new)                                                                                              \
	X(EVP_PKEY_CTX_free)                                                                                           \
	X(EVP_PKEY_CTX_new_from_name)                                                                                  \
	X(EVP_PKEY_free)                                                                                               \
	X(EVP_PKEY_fromdata)                                                                                           \
	X(EVP_PKEY_fromdata_init)                                                                                      \
	X(EVP_PKEY_get_size)                                                                                           \
	X(EVP_sha256)                                                                                                  \
	X(OSSL_PARAM_BLD_free)                                                                                         \
	X(OSSL_PARAM_BLD_new)                                                                                          \
	X(OSSL_PARAM_BLD_push_BN)                                                                                      \
	X(OSSL_PARAM_BLD_to_param)                                                                                     \
	X(OSSL_PARAM_free)

/* One member per function, typed from OpenSSL's own prototype, so calls are type-checked. */
struct pe_crypto_lib {
#define PE_CRYPTO_MEMBER(name) __typeof__(&name) name;
	PE_CRYPTO_FUNCTIONS(PE_CRYPTO_MEMBER)
#undef PE_CRYPTO_MEMBER
};

/* libcrypto loaded (once per process, thread-safe), or NULL with the reason in ERR. */
const struct pe_crypto_lib *pe_crypto_lib(char *err, size_t errlen);

#endif
