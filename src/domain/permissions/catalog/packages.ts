import { ACCESS_LEVEL, GROUP_ONLY, PROJECT_OR_GROUP, defineCategory } from './define.js'

const { guest, reporter, developer, maintainer } = ACCESS_LEVEL

const PACKAGE_FORMATS = [
  'package',
  'npm',
  'maven',
  'gradle',
  'pypi',
  'pip',
  'nuget',
  'composer',
  'conan',
  'rubygems',
  'gem',
  'helm',
  'go module',
  'terraform module',
  'generic package',
]
const CONTAINER = ['docker', 'image', 'container', 'oci', 'registry', 'container registry']

export const PACKAGE_PERMISSIONS = defineCategory('packages_registries', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_package',
    title: 'Package: Read',
    description: 'List and download packages from the package registry.',
    minAccessLevel: reporter,
    access: 'read',
    publicRead: true,
    synonyms: [...PACKAGE_FORMATS, 'install', 'download package', 'npm install', 'pip install'],
  },
  {
    name: 'publish_package',
    title: 'Package: Publish',
    description: 'Upload new packages and package versions to the package registry.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...PACKAGE_FORMATS, 'upload', 'npm publish', 'mvn deploy', 'twine upload'],
  },
  {
    name: 'delete_package',
    title: 'Package: Delete',
    description: 'Delete packages and package files from the package registry.',
    minAccessLevel: maintainer,
    access: 'write',
    synonyms: [...PACKAGE_FORMATS, 'remove package', 'unpublish'],
  },
  {
    name: 'read_container_image',
    title: 'Container image: Read',
    description: 'List and pull images from the container registry.',
    minAccessLevel: reporter,
    access: 'read',
    publicRead: true,
    synonyms: [...CONTAINER, 'docker pull', 'pull image'],
  },
  {
    name: 'push_container_image',
    title: 'Container image: Push',
    description: 'Push images and tags to the container registry.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...CONTAINER, 'docker push', 'push image'],
  },
  {
    name: 'delete_container_image',
    title: 'Container image: Delete',
    description: 'Delete images and tags from the container registry.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...CONTAINER, 'remove image', 'delete tag'],
  },
  {
    name: 'read_dependency_proxy',
    title: 'Dependency proxy: Read',
    description: "Pull images through the group's dependency proxy cache.",
    boundaries: GROUP_ONLY,
    minAccessLevel: guest,
    access: 'read',
    synonyms: [...CONTAINER, 'dependency proxy', 'docker hub', 'cache', 'pull through'],
  },
  {
    name: 'read_virtual_registry',
    title: 'Virtual registry: Read',
    description: "Pull packages and images through the group's virtual registries.",
    boundaries: GROUP_ONLY,
    minAccessLevel: guest,
    access: 'read',
    synonyms: ['virtual registry', 'maven', 'upstream', 'cache', 'pull through'],
  },
])
