// octobridge: stand-in for ankerl::unordered_dense 4.8.1 (header-only, not packaged
// in Debian 12). Only what mediasoup-worker uses: hash<T>, map and set, backed by the
// standard containers (same semantics; iteration order and speed differ).
#ifndef OCTOBRIDGE_ANKERL_UNORDERED_DENSE_H
#define OCTOBRIDGE_ANKERL_UNORDERED_DENSE_H

#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl
{
	namespace unordered_dense
	{
		template<typename T, typename Enable = void>
		struct hash : public std::hash<T>
		{
			using is_avalanching = void;
		};

		template<
		  class Key,
		  class T,
		  class Hash                     = hash<Key>,
		  class KeyEqual                 = std::equal_to<Key>,
		  class AllocatorOrContainer     = std::allocator<std::pair<Key, T>>,
		  class Bucket                   = void,
		  class BucketContainer          = void>
		using map = std::unordered_map<Key, T, Hash, KeyEqual>;

		template<
		  class Key,
		  class Hash                 = hash<Key>,
		  class KeyEqual             = std::equal_to<Key>,
		  class AllocatorOrContainer = std::allocator<Key>,
		  class Bucket               = void,
		  class BucketContainer      = void>
		using set = std::unordered_set<Key, Hash, KeyEqual>;
	} // namespace unordered_dense
} // namespace ankerl

#endif
